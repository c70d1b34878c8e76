// The activity chart: SVG drawn here, no library (the dashboard loads nothing from outside Beacon).
import { $, el, number, svg, time } from './dom.js';

/**
 * Draws one line (and a faint area) per series over the buckets of a /time-series answer into container, and the
 * series' names into legend. range (1h, 24h, 7d, 30d) decides how the time axis is labelled.
 */
export function drawChart(container, legend, rows, series, range) {
  legend.replaceChildren(...series.map((s) => {
    const swatch = el('i');
    swatch.style.background = s.color;
    return el('span', {}, swatch, s.name);
  }));
  const width = Math.max(container.clientWidth - 24, 400);
  const height = 260;
  const pad = { left: 44, right: 12, top: 10, bottom: 24 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...rows.flatMap((r) => series.map((s) => r[s.key] || 0)));
  const step = niceStep(max / 4);
  const top = Math.ceil(max / step) * step;
  const x = (i) => pad.left + (rows.length <= 1 ? plotW / 2 : (i * plotW) / (rows.length - 1));
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'events over time' });
  const axis = svg('g', { class: 'axis' });
  for (let v = 0; v <= top; v += step) {
    axis.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: 'grid-line' }));
    const label = svg('text', { x: pad.left - 6, y: y(v) + 3, 'text-anchor': 'end' });
    label.textContent = number(v);
    axis.append(label);
  }
  const ticks = Math.min(rows.length, 8);
  for (let t = 0; t < ticks; t++) {
    const i = Math.round((t * (rows.length - 1)) / Math.max(1, ticks - 1));
    const label = svg('text', { x: x(i), y: height - 6, 'text-anchor': t === 0 ? 'start' : t === ticks - 1 ? 'end' : 'middle' });
    label.textContent = tickLabel(rows[i].ts, range);
    axis.append(label);
  }
  root.append(axis);
  for (const s of series) {
    const points = rows.map((r, i) => `${x(i).toFixed(1)},${y(r[s.key] || 0).toFixed(1)}`);
    if (points.length === 0) continue;
    const area = svg('polygon', { class: 'area', points: `${x(0)},${y(0)} ${points.join(' ')} ${x(rows.length - 1)},${y(0)}` });
    area.style.fill = s.color;
    const line = svg('polyline', { class: 'series', points: points.join(' ') });
    line.style.stroke = s.color;
    root.append(area, line);
    // Dots where something happened: a sparse series is otherwise only a slope into the last bucket.
    rows.forEach((r, i) => {
      if (!r[s.key]) return;
      const dot = svg('circle', { class: 'dot', cx: x(i).toFixed(1), cy: y(r[s.key]).toFixed(1), r: 2.5 });
      dot.style.fill = s.color;
      root.append(dot);
    });
  }
  const hover = svg('line', { class: 'hover-line', y1: pad.top, y2: pad.top + plotH, visibility: 'hidden' });
  root.append(hover);
  const tip = $('#chart-tooltip') || document.body.appendChild(el('div', { id: 'chart-tooltip', class: 'tooltip', hidden: true }));
  root.addEventListener('mousemove', (event) => {
    if (rows.length === 0) return;
    const box = root.getBoundingClientRect();
    const at = ((event.clientX - box.left) / box.width) * width;
    const i = Math.max(0, Math.min(rows.length - 1, Math.round(((at - pad.left) / plotW) * (rows.length - 1))));
    hover.setAttribute('x1', x(i));
    hover.setAttribute('x2', x(i));
    hover.setAttribute('visibility', 'visible');
    tip.replaceChildren(el('div', {}, time(rows[i].ts)), ...series.map((s) => el('div', {}, s.name + ': ' + number(rows[i][s.key]))));
    tip.hidden = false;
    tip.style.left = Math.min(event.pageX + 12, window.innerWidth - 160) + 'px';
    tip.style.top = event.pageY + 12 + 'px';
  });
  root.addEventListener('mouseleave', () => {
    hover.setAttribute('visibility', 'hidden');
    tip.hidden = true;
  });
  container.replaceChildren(root);
}

function niceStep(raw) {
  const power = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return Math.max(1, m * power);
  return 10 * power;
}

function tickLabel(ts, range) {
  const d = new Date(ts);
  if (range === '7d' || range === '30d') return d.toISOString().slice(5, 10) + (range === '7d' ? ' ' + d.toISOString().slice(11, 16) : '');
  return d.toISOString().slice(11, 16);
}
