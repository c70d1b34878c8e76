// Shared helpers: building elements (always as text, never HTML: event fields and mail headers are written by
// whoever sends mail or clicks links), calling Beacon's API, formatting numbers, and tables.
export const $ = (selector) => document.querySelector(selector);

/** Builds an element: el('td', {class: 'num'}, 'text', childNode…). */
export function el(tag, attributes, ...children) {
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

export const svg = (tag, attributes) => {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  return node;
};

/** An API error with the server's own description (SparkPost's {"errors":[…]} shape). */
export class ApiError extends Error {
  constructor(status, text) {
    super(text);
    this.status = status;
  }
}

export async function api(path) {
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
export function showError(container, error) {
  const heading = error.status === 0 ? 'Beacon is not answering' : 'The API answered with an error';
  const box = el('div', { class: 'error', role: 'alert' }, el('strong', {}, heading), error.message);
  if (container.tagName === 'TABLE') {
    container.replaceChildren(el('tr', {}, el('td', { class: 'empty' }, box)));
  } else {
    container.replaceChildren(box);
  }
}

export const number = (n) => (n === undefined || n === null ? '–' : Number(n).toLocaleString('en-US'));
export const percent = (part, whole) => (whole > 0 ? (100 * part / whole) : null);
export const formatPercent = (p) => (p === null ? '–' : (p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)) + '%');
export const time = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toISOString().replace('T', ' ').slice(0, 19);
};

export function rateCell(part, whole) {
  const p = percent(part, whole);
  const bar = el('span', { class: 'bar' }, el('span'));
  bar.firstChild.style.width = Math.min(100, p || 0) + '%';
  return el('td', { class: 'num' }, el('span', { class: 'rate' }, formatPercent(p), bar));
}

export function table(node, columns, rows, empty) {
  const head = el('tr', {}, columns.map((c) => el('th', { class: c.num ? 'num' : null }, c.title)));
  const body = rows.length === 0
    ? [el('tr', {}, el('td', { class: 'empty', colspan: columns.length }, empty || 'Nothing yet.'))]
    : rows;
  node.replaceChildren(el('thead', {}, head), el('tbody', {}, body));
}
