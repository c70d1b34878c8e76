// The mail viewer over capture mode's copies: the list, one copy (HTML sandboxed, text, source), its live events.
import { $, api, el, number, showError, table, time } from './dom.js';
import { LiveTable } from './events.js';

const mailLive = new LiveTable($('#mail-events-table'), $('#mail-stream-status'), true, 200);

// ---- captured mail --------------------------------------------------------------------------------------------

export const mail = { selected: null, part: 'html', detail: null };

/** Leaving the view closes its event stream: each open stream holds one of the server's 32 places. */
export function leaveMail() {
  mailLive.close();
  mail.selected = null;
}

export async function loadMail(arg, deliveryMode) {
  const node = $('#mail-table');
  $('#mail-mode').textContent = deliveryMode === 'capture' ? 'capture mode: nothing leaves this machine'
    : 'delivery mode is ' + (deliveryMode || '?') + ': only copies captured earlier are here';
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

export async function selectMail(key) {
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

export async function showPart(part) {
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
