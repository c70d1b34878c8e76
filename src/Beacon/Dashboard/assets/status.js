// The process's own state: its delivery queue and its webhooks.
import { $, api, el, number, showError, table, time } from './dom.js';

// ---- queues and webhooks --------------------------------------------------------------------------------------

export async function loadQueues() {
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

export async function loadWebhooks() {
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
