// Events, one row each: the live stream's table (server-sent events), the message story, the mail viewer's column.
import { $, ApiError, api, el, showError, table, time } from './dom.js';

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
export class LiveTable {
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

// ---- one message's story --------------------------------------------------------------------------------------

export async function loadMessage(id) {
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
