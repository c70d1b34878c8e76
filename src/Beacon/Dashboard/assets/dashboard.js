// Beacon dashboard. Plain JavaScript, no dependencies: every number comes from Beacon's own APIs on this origin
// (Metrics, Message Events, webhook status) and the dashboard's endpoints (event stream, captured mail, queues).
// Data is always put into the page as text (textContent), never as HTML: event fields and mail headers are
// written by whoever sends mail or clicks links.
'use strict';

const $ = (selector) => document.querySelector(selector);

/** Builds an element: el('td', {class: 'num'}, 'text', childNode…). */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const svg = (tag, attributes) => {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  return node;
};

/** An API error with the server's own description (SparkPost's {"errors":[…]} shape). */
class ApiError extends Error {
  constructor(status, text) {
    super(text);
    this.status = status;
  }
}

async function api(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'No answer from ' + location.host + ' (' + e.message + '). Is `beacon run` still running?');
  }
  if (response.ok) return response.json();
  let text = response.status + ' ' + response.statusText;
  try {
    const body = await response.json();
    const first = body.errors && body.errors[0];
    if (first) text = response.status + ': ' + first.message + (first.description ? ' — ' + first.description : '');
  } catch { /* not JSON: keep the status line */ }
  if (response.status === 401) text += '. Reload the page and enter an API key as the user name (no password).';
  throw new ApiError(response.status, text);
}

/** Replaces a container's content with a clear error box. */
function showError(container, error) {
  const heading = error.status === 0 ? 'Beacon is not answering' : 'The API answered with an error';
  const box = el('div', { class: 'error', role: 'alert' }, el('strong', {}, heading), error.message);
  if (container.tagName === 'TABLE') {
    container.replaceChildren(el('tr', {}, el('td', { class: 'empty' }, box)));
  } else {
    container.replaceChildren(box);
  }
}

const number = (n) => (n === undefined || n === null ? '–' : Number(n).toLocaleString('en-US'));
const percent = (part, whole) => (whole > 0 ? (100 * part / whole) : null);
const formatPercent = (p) => (p === null ? '–' : (p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)) + '%');
const time = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toISOString().replace('T', ' ').slice(0, 19);
};

function rateCell(part, whole) {
  const p = percent(part, whole);
  const bar = el('span', { class: 'bar' }, el('span'));
  bar.firstChild.style.width = Math.min(100, p || 0) + '%';
  return el('td', { class: 'num' }, el('span', { class: 'rate' }, formatPercent(p), bar));
}

function table(node, columns, rows, empty) {
  const head = el('tr', {}, columns.map((c) => el('th', { class: c.num ? 'num' : null }, c.title)));
  const body = rows.length === 0
    ? [el('tr', {}, el('td', { class: 'empty', colspan: columns.length }, empty || 'Nothing yet.'))]
    : rows;
  node.replaceChildren(el('thead', {}, head), el('tbody', {}, body));
}

// ---- time range and shared filters ---------------------------------------------------------------------------

const RANGES = {
  '1h': { ms: 3600e3, precision: '1min' },
  '24h': { ms: 24 * 3600e3, precision: '15min' },
  '7d': { ms: 7 * 24 * 3600e3, precision: 'hour' },
  '30d': { ms: 30 * 24 * 3600e3, precision: 'day' },
};

function rangeQuery(extra) {
  const range = RANGES[$('#range').value] || RANGES['24h'];
  const from = new Date(Date.now() - range.ms).toISOString().slice(0, 16);
  const params = new URLSearchParams({ from });
  const campaign = $('#campaign-filter').value.trim();
  if (campaign) params.set('campaigns', campaign);
  for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
  return { params, precision: range.precision };
}

const metrics = (grouping, names, extra) => {
  const { params } = rangeQuery(extra);
  params.set('metrics', names.join(','));
  return api('/api/v1/metrics/deliverability' + grouping + '?' + params);
};

// ---- overview --------------------------------------------------------------------------------------------------

const OVERVIEW = ['count_injected', 'count_delivered', 'count_bounce', 'count_delayed', 'count_policy_rejection', 'count_rendered',
  'count_unique_confirmed_opened', 'count_clicked', 'count_unique_clicked', 'count_unique_human_confirmed_opened', 'count_unique_human_clicked'];

const SERIES = [
  { key: 'count_injected', name: 'Injected', color: 'var(--c1)' },
  { key: 'count_delivered', name: 'Delivered', color: 'var(--c2)' },
  { key: 'count_bounce', name: 'Bounced', color: 'var(--c3)' },
  { key: 'count_rendered', name: 'Opens', color: 'var(--c4)' },
  { key: 'count_clicked', name: 'Clicks', color: 'var(--c6)' },
];

async function loadOverview() {
  const cards = $('#overview-cards');
  const chart = $('#chart');
  try {
    const [total, series] = await Promise.all([
      metrics('', OVERVIEW),
      metrics('/time-series', SERIES.map((s) => s.key), { precision: rangeQuery().precision }),
    ]);
    const m = total.results[0] || {};
    const card = (label, value, sub) => el('div', { class: 'card' }, el('div', { class: 'label' }, label), el('div', { class: 'value' }, value), el('div', { class: 'sub' }, sub || ''));
    cards.replaceChildren(
      card('Injected', number(m.count_injected), number(m.count_policy_rejection) + ' rejected by policy'),
      card('Delivered', number(m.count_delivered), formatPercent(percent(m.count_delivered, m.count_injected)) + ' of injected'),
      card('Bounced', number(m.count_bounce), formatPercent(percent(m.count_bounce, m.count_injected)) + ' of injected'),
      card('Delayed', number(m.count_delayed), 'temporary failures'),
      card('Opens', number(m.count_rendered), number(m.count_unique_confirmed_opened) + ' copies opened (a click counts)'),
      card('Clicks', number(m.count_clicked), number(m.count_unique_clicked) + ' unique'),
      card('Human open rate', formatPercent(percent(m.count_unique_human_confirmed_opened, m.count_delivered)), 'unique human opens / delivered'),
      card('Human click rate', formatPercent(percent(m.count_unique_human_clicked, m.count_delivered)), 'unique human clicks / delivered'),
    );
    drawChart(chart, series.results);
  } catch (e) {
    showError(cards, e);
    chart.replaceChildren();
  }
}

function drawChart(container, rows) {
  $('#chart-legend').replaceChildren(...SERIES.map((s) => {
    const swatch = el('i');
    swatch.style.background = s.color;
    return el('span', {}, swatch, s.name);
  }));
  const width = Math.max(container.clientWidth - 24, 400);
  const height = 260;
  const pad = { left: 44, right: 12, top: 10, bottom: 24 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...rows.flatMap((r) => SERIES.map((s) => r[s.key] || 0)));
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
    label.textContent = tickLabel(rows[i].ts);
    axis.append(label);
  }
  root.append(axis);
  for (const s of SERIES) {
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
    tip.replaceChildren(el('div', {}, time(rows[i].ts)), ...SERIES.map((s) => el('div', {}, s.name + ': ' + number(rows[i][s.key]))));
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

function tickLabel(ts) {
  const d = new Date(ts);
  const range = $('#range').value;
  if (range === '7d' || range === '30d') return d.toISOString().slice(5, 10) + (range === '7d' ? ' ' + d.toISOString().slice(11, 16) : '');
  return d.toISOString().slice(11, 16);
}

// ---- campaigns and links ------------------------------------------------------------------------------------

const CAMPAIGN_METRICS = ['count_injected', 'count_delivered', 'count_bounce', 'count_unique_confirmed_opened', 'count_unique_clicked',
  'count_unique_human_confirmed_opened', 'count_unique_human_clicked', 'count_clicked'];

async function loadCampaigns() {
  const node = $('#campaigns-table');
  try {
    const data = await metrics('/campaign', CAMPAIGN_METRICS);
    const rows = data.results.map((r) => el('tr', { dataset: { campaign: r.campaign_id || '' } },
      el('td', {}, r.campaign_id || el('span', { class: 'tag' }, '(none)')),
      el('td', { class: 'num' }, number(r.count_injected)),
      el('td', { class: 'num' }, number(r.count_delivered)),
      el('td', { class: 'num' }, number(r.count_bounce)),
      rateCell(r.count_unique_confirmed_opened, r.count_delivered),
      rateCell(r.count_unique_clicked, r.count_delivered),
      rateCell(r.count_unique_human_confirmed_opened, r.count_delivered),
      rateCell(r.count_unique_human_clicked, r.count_delivered),
      el('td', { class: 'num' }, number(r.count_clicked))));
    table(node, [{ title: 'Campaign' }, { title: 'Injected', num: 1 }, { title: 'Delivered', num: 1 }, { title: 'Bounced', num: 1 },
      { title: 'Open rate', num: 1 }, { title: 'Click rate', num: 1 }, { title: 'Human open rate', num: 1 }, { title: 'Human click rate', num: 1 },
      { title: 'Clicks', num: 1 }], rows, 'No campaign has events in this range.');
  } catch (e) {
    showError(node, e);
  }
}

async function loadLinks() {
  const node = $('#links-table');
  try {
    const data = await metrics('/link-name', ['count_clicked', 'count_unique_clicked', 'count_raw_clicked', 'count_human_clicked']);
    const total = data.results.reduce((sum, r) => sum + (r.count_clicked || 0), 0);
    const rows = data.results.map((r) => el('tr', {},
      el('td', {}, r.link_name || el('span', { class: 'tag' }, '(unnamed)')),
      el('td', { class: 'num' }, number(r.count_clicked)),
      el('td', { class: 'num' }, number(r.count_unique_clicked)),
      el('td', { class: 'num' }, number(r.count_raw_clicked)),
      el('td', { class: 'num' }, number(r.count_human_clicked)),
      rateCell(r.count_clicked, total)));
    table(node, [{ title: 'Link name' }, { title: 'Clicks', num: 1 }, { title: 'Unique', num: 1 }, { title: 'Unique per URL', num: 1 },
      { title: 'Human', num: 1 }, { title: 'Share', num: 1 }], rows, 'No clicks in this range.');
  } catch (e) {
    showError(node, e);
  }
}

// ---- events: one row per event, shared by the live stream, the message story and the mail viewer -------------

const EVENT_COLUMNS = [{ title: 'Time (UTC)' }, { title: 'Type' }, { title: 'Campaign' }, { title: 'Recipient' }, { title: 'Message' }, { title: 'Detail' }];

/** The inner object of {"msys":{"<category>":{…}}}, or the object itself (the Message Events API's results). */
const inner = (json) => (json && json.msys ? Object.values(json.msys)[0] : json) || {};

function detail(e) {
  const parts = [];
  if (e.target_link_name) parts.push('link ' + e.target_link_name);
  if (e.target_link_url) parts.push(e.target_link_url);
  if (e.classification) parts.push(e.classification + (e.first_human ? ' (first)' : ''));
  if (e.bounce_class) parts.push('class ' + e.bounce_class);
  if (e.reason || e.raw_reason) parts.push(e.reason || e.raw_reason);
  if (e.error_code) parts.push(e.error_code);
  if (e.num_retries && e.num_retries !== '0') parts.push('retries ' + e.num_retries);
  if (e.delv_method && e.type === 'delivery') parts.push('via ' + e.delv_method);
  return parts.join(' · ');
}

function eventRow(e, compact) {
  const message = e.message_id ? el('a', { href: '#message/' + e.message_id, class: 'mono' }, e.message_id) : '';
  // Momentum's timestamp: Unix seconds with milliseconds, as a string ("1795741564.417").
  const when = e.timestamp ? time(Number.isFinite(Number(e.timestamp)) ? Number(e.timestamp) * 1000 : e.timestamp) : '';
  const cells = [el('td', { class: 'mono' }, compact ? when.slice(11) : when), el('td', {}, el('span', { class: 'type ' + (e.type || '') }, e.type || '?'))];
  if (!compact) cells.push(el('td', {}, e.campaign_id || ''), el('td', {}, e.rcpt_to || ''), el('td', {}, message));
  cells.push(el('td', { class: 'detail' }, detail(e)));
  const title = [e.user_agent, e.ip_address, e.event_id && 'event ' + e.event_id].filter(Boolean).join('\n');
  return el('tr', { class: 'event', title: title || null, dataset: { type: e.type || '', campaign: e.campaign_id || '' } }, cells);
}

/**
 * A live table fed by GET /api/v1/events/stream (server-sent events). EventSource reconnects on its own and sends
 * Last-Event-ID, so the server resumes after the last event shown and none is lost or repeated.
 */
class LiveTable {
  constructor(tableNode, statusNode, compact, limit) {
    this.table = tableNode;
    this.status = statusNode;
    this.compact = compact;
    this.limit = limit || 500;
    this.source = null;
    this.paused = false;
    this.columns = compact ? [EVENT_COLUMNS[0], EVENT_COLUMNS[1], EVENT_COLUMNS[5]] : EVENT_COLUMNS;
  }

  open(filters) {
    this.close();
    table(this.table, this.columns, [], 'Waiting for events…');
    this.body = this.table.querySelector('tbody');
    this.empty = true;
    const params = new URLSearchParams({ backlog: '100' });
    for (const [k, v] of Object.entries(filters || {})) if (v) params.set(k, v);
    this.setStatus('connecting', '');
    const source = new EventSource('/api/v1/events/stream?' + params);
    this.source = source;
    source.onopen = () => this.setStatus('live', 'live');
    source.onmessage = (message) => {
      if (this.paused) return;
      let json;
      try { json = JSON.parse(message.data); } catch { return; }
      this.add(inner(json));
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // EventSource gives up on an HTTP error (400, 401, 503): ask the endpoint for its reason.
        this.setStatus('stopped', 'down');
        probeStream('/api/v1/events/stream?' + params).then((e) => showError(this.table, e));
      } else {
        this.setStatus('reconnecting', 'down');
      }
    };
  }

  add(e) {
    if (this.empty) {
      this.body.replaceChildren();
      this.empty = false;
    }
    const row = eventRow(e, this.compact);
    row.classList.add('fresh');
    this.body.prepend(row);
    while (this.body.rows.length > this.limit) this.body.deleteRow(-1);
  }

  setStatus(text, kind) {
    if (!this.status) return;
    this.status.textContent = text;
    this.status.className = 'status ' + kind;
  }

  close() {
    if (this.source) this.source.close();
    this.source = null;
  }
}

/** Why a stream was refused: EventSource hides the HTTP status, so ask once with fetch and read the error body. */
async function probeStream(url) {
  const abort = new AbortController();
  try {
    const response = await fetch(url, { signal: abort.signal, cache: 'no-store' });
    if (response.ok) return new ApiError(0, 'The event stream closed; reload the page to reconnect.');
    try {
      await api(url); // not ok again: api() turns the body into the server's message
    } catch (e) {
      return e;
    }
    return new ApiError(response.status, response.status + ' ' + response.statusText);
  } catch (e) {
    return new ApiError(0, 'No answer from ' + location.host + ' (' + e.message + ').');
  } finally {
    abort.abort();
  }
}

const live = new LiveTable($('#events-table'), $('#stream-status'), false, 500);
const mailLive = new LiveTable($('#mail-events-table'), $('#mail-stream-status'), true, 200);

function streamFilters() {
  const form = new FormData($('#stream-filters'));
  return { events: form.get('events').trim(), campaigns: form.get('campaigns').trim(), recipients: form.get('recipients').trim() };
}

// ---- one message's story --------------------------------------------------------------------------------------

async function loadMessage(id) {
  const node = $('#message-table');
  $('#message-form').elements.id.value = id || '';
  if (!id) {
    table(node, EVENT_COLUMNS, [], 'Enter a message id, or pick one from the live events or the mail viewer.');
    return;
  }
  try {
    // Every retained event of the message (the API's default window is 24 hours).
    const from = new Date(Date.now() - 400 * 24 * 3600e3).toISOString().slice(0, 16);
    const data = await api('/api/v1/events/message?' + new URLSearchParams({ message_ids: id, from, per_page: '10000' }));
    const rows = data.results.slice().reverse().map((e) => eventRow(e, false));
    table(node, EVENT_COLUMNS, rows, 'No events for message ' + id + '.');
  } catch (e) {
    showError(node, e);
  }
}

// ---- captured mail --------------------------------------------------------------------------------------------

const mail = { selected: null, part: 'html', detail: null };

async function loadMail(arg) {
  const node = $('#mail-table');
  $('#mail-mode').textContent = info.delivery_mode === 'capture' ? 'capture mode: nothing leaves this machine'
    : 'delivery mode is ' + (info.delivery_mode || '?') + ': only copies captured earlier are here';
  try {
    const data = await api('/api/v1/captured?limit=200');
    const rows = data.results.map((c) => {
      const key = c.message_id + '/' + c.recipient;
      return el('tr', { class: key === mail.selected ? 'on' : null, dataset: { key }, onclick: () => { location.hash = '#mail/' + key; } },
        el('td', {},
          el('div', { class: 'mail-line' }, el('strong', {}, c.subject || '(no subject)'), el('span', { class: 'tag mono' }, time(c.captured_at).slice(11, 19))),
          el('div', { class: 'mail-line tag' }, el('span', {}, 'to ' + c.rcpt_to), el('span', {}, c.from || c.mail_from))));
    });
    table(node, [{ title: 'Newest first' }], rows, 'No captured mail yet. Send some to the SMTP listener.');
    // Arriving without a choice: show the newest copy, so the view is never an empty frame.
    if (!arg && !mail.selected && data.results.length > 0) await selectMail(data.results[0].message_id + '/' + data.results[0].recipient);
  } catch (e) {
    showError(node, e);
  }
}

async function selectMail(key) {
  if (!key || key === mail.selected) return;
  mail.selected = key;
  for (const row of document.querySelectorAll('#mail-table tr[data-key]')) row.classList.toggle('on', row.dataset.key === key);
  const meta = $('#mail-meta');
  try {
    const c = await api('/api/v1/captured/' + key);
    mail.detail = c;
    $('#mail-subject').textContent = c.subject || '(no subject)';
    const story = el('a', { href: '#message/' + c.message_id, class: 'mono' }, c.message_id);
    const pairs = [['From', c.from], ['To', c.to], ['Envelope', c.mail_from + ' → ' + c.rcpt_to], ['Date', c.date], ['Message', story],
      ['Size', number(c.size) + ' bytes'], ['Attachments', c.attachments.map((a) => a.filename || a.content_type).join(', ') || 'none']];
    meta.replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v || '')]));
    showPart(c.has_html ? mail.part : (mail.part === 'html' ? 'text' : mail.part));
    mailLive.open({ message_ids: c.message_id, recipients: c.rcpt_to });
  } catch (e) {
    showError(meta, e);
  }
}

async function showPart(part) {
  mail.part = part;
  for (const b of document.querySelectorAll('#mail-tabs button')) b.classList.toggle('on', b.dataset.part === part);
  const frame = $('#mail-frame');
  const text = $('#mail-text');
  if (!mail.detail) return;
  frame.hidden = part !== 'html';
  text.hidden = part === 'html';
  if (part === 'html') {
    frame.src = '/api/v1/captured/' + mail.selected + '/html' + ($('#mail-images').checked ? '?images=1' : '');
  } else if (part === 'text') {
    text.textContent = mail.detail.text ?? '(this copy has no text part)';
  } else {
    text.textContent = 'loading…';
    try {
      const response = await fetch('/api/v1/captured/' + mail.selected + '/raw', { cache: 'no-store' });
      text.textContent = response.ok ? await response.text() : response.status + ' ' + response.statusText;
    } catch (e) {
      text.textContent = 'Beacon is not answering: ' + e.message;
    }
  }
}

// ---- queues and webhooks --------------------------------------------------------------------------------------

async function loadQueues() {
  const node = $('#queues-table');
  try {
    const q = (await api('/api/v1/queues')).results;
    const card = (label, value, sub) => el('div', { class: 'card' }, el('div', { class: 'label' }, label), el('div', { class: 'value' }, value), el('div', { class: 'sub' }, sub));
    const ready = q.destinations.reduce((s, d) => s + d.ready, 0);
    const workers = q.destinations.reduce((s, d) => s + d.workers, 0);
    $('#queue-cards').replaceChildren(card('Messages', number(q.messages), 'with unfinished recipients'), card('Ready', number(ready), 'waiting for a connection'),
      card('Deferred', number(q.deferred), 'waiting for a retry'), card('Connections', number(workers), 'workers delivering now'));
    const rows = q.destinations.map((d) => el('tr', {},
      el('td', { class: 'mono' }, d.destination), el('td', {}, d.kind), el('td', { class: 'num' }, number(d.messages)), el('td', { class: 'num' }, number(d.ready)),
      el('td', { class: 'num' }, number(d.deferred)), el('td', { class: 'num' }, number(d.workers) + ' / ' + number(d.max_connections))));
    table(node, [{ title: 'Destination' }, { title: 'Route' }, { title: 'Messages', num: 1 }, { title: 'Ready', num: 1 }, { title: 'Deferred', num: 1 },
      { title: 'Connections', num: 1 }], rows, 'The queue is empty: everything was delivered.');
  } catch (e) {
    showError(node, e);
  }
}

async function loadWebhooks() {
  const node = $('#webhooks-table');
  try {
    const hooks = (await api('/api/v1/webhooks/status')).results;
    const rows = hooks.map((w) => el('tr', {},
      el('td', {}, w.name), el('td', { class: 'mono' }, w.target), el('td', {}, w.sending ? 'yes' : 'no (another node)'),
      el('td', { class: 'mono' }, time(w.last_success) || 'never'), el('td', { class: 'num' }, number(w.lag)),
      el('td', { class: 'num' }, number(w.consecutive_failures)), el('td', { class: 'num' }, number(w.events_sent)),
      el('td', { class: 'num' }, number(w.dropped_events)), el('td', { class: 'detail' }, w.last_error ? time(w.last_error_at) + ' ' + w.last_error : '')));
    table(node, [{ title: 'Name' }, { title: 'Target' }, { title: 'Sending' }, { title: 'Last success' }, { title: 'Lag', num: 1 }, { title: 'Failures', num: 1 },
      { title: 'Events sent', num: 1 }, { title: 'Dropped', num: 1 }, { title: 'Last error' }], rows, 'No webhooks are configured (docs/webhooks.md).');
  } catch (e) {
    showError(node, e);
  }
}

// ---- navigation and refresh -----------------------------------------------------------------------------------

const VIEWS = {
  overview: { load: loadOverview, every: 30e3 },
  campaigns: { load: loadCampaigns, every: 30e3 },
  links: { load: loadLinks, every: 30e3 },
  events: { load: () => {}, every: 0 },
  message: { load: (arg) => loadMessage(arg), every: 0 },
  mail: { load: async (arg) => { await loadMail(arg); if (arg) await selectMail(arg); }, every: 5e3 },
  queues: { load: loadQueues, every: 5e3 },
  webhooks: { load: loadWebhooks, every: 10e3 },
};

let info = {};
let timer = null;
let current = null;

function route() {
  const [name, ...rest] = location.hash.replace(/^#/, '').split('/');
  const view = VIEWS[name] ? name : 'overview';
  const arg = rest.join('/');
  for (const section of document.querySelectorAll('.view')) section.classList.toggle('on', section.id === 'view-' + view);
  for (const link of document.querySelectorAll('#tabs a')) link.classList.toggle('on', link.dataset.view === view);
  document.title = 'Beacon · ' + $('#view-' + view).dataset.title;
  $('.controls').classList.toggle('off', !['overview', 'campaigns', 'links'].includes(view)); // the range filters metrics only
  current = { view, arg };
  refresh();
}

function refresh() {
  clearTimeout(timer);
  const { view, arg } = current;
  Promise.resolve(VIEWS[view].load(arg)).finally(() => {
    if (VIEWS[view].every && current.view === view) timer = setTimeout(refresh, VIEWS[view].every);
  });
}

async function start() {
  try {
    info = (await api('/api/v1/dashboard/info')).results;
    $('#node').textContent = info.node_name + ' · ' + info.delivery_mode;
  } catch (e) {
    $('#node').textContent = e.message;
  }
  window.addEventListener('hashchange', route);
  $('#range').addEventListener('change', refresh);
  $('#campaign-filter').addEventListener('change', refresh);
  $('#refresh').addEventListener('click', refresh);
  $('#stream-filters').addEventListener('submit', (event) => {
    event.preventDefault();
    live.open(streamFilters());
  });
  $('#stream-pause').addEventListener('click', (event) => {
    live.paused = !live.paused;
    event.target.textContent = live.paused ? 'Resume' : 'Pause';
  });
  $('#message-form').addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = '#message/' + event.target.elements.id.value.trim();
  });
  for (const b of document.querySelectorAll('#mail-tabs button')) b.addEventListener('click', () => showPart(b.dataset.part));
  $('#mail-images').addEventListener('change', () => showPart(mail.part));
  live.open(streamFilters());
  route();
}

start();
