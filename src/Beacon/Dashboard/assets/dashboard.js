// Beacon dashboard. Plain JavaScript, no dependencies: every number comes from Beacon's own APIs on this origin
// (Metrics, Message Events, webhook status) and the dashboard's endpoints (event stream, captured mail, queues).
// Data is always put into the page as text (textContent), never as HTML: event fields and mail headers are
// written by whoever sends mail or clicks links.
import { $, api } from './dom.js';
import { LiveTable, loadMessage } from './events.js';
import { loadCampaigns, loadLinks, loadOverview } from './metrics.js';
import { leaveMail, loadMail, mail, selectMail, showPart } from './mail.js';
import { loadQueues, loadWebhooks } from './status.js';

const live = new LiveTable($('#events-table'), $('#stream-status'), false, 500);

function streamFilters() {
  const form = new FormData($('#stream-filters'));
  return { events: form.get('events').trim(), campaigns: form.get('campaigns').trim(), recipients: form.get('recipients').trim() };
}

// ---- navigation and refresh -----------------------------------------------------------------------------------

const VIEWS = {
  overview: { load: loadOverview, every: 30e3 },
  campaigns: { load: loadCampaigns, every: 30e3 },
  links: { load: loadLinks, every: 30e3 },
  events: { load: () => {}, every: 0 },
  message: { load: (arg) => loadMessage(arg), every: 0 },
  mail: { load: async (arg) => { await loadMail(arg, info.delivery_mode); if (arg) await selectMail(arg); }, every: 5e3 },
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
  if (view !== 'mail') leaveMail();
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
