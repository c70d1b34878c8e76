// The metric views (overview, campaigns, links), all from the Metrics API with the range and campaign boxes.
import { $, api, el, formatPercent, number, percent, rateCell, showError, table } from './dom.js';
import { drawChart } from './chart.js';

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

export async function loadOverview() {
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
    drawChart(chart, $('#chart-legend'), series.results, SERIES, $('#range').value);
  } catch (e) {
    showError(cards, e);
    chart.replaceChildren();
  }
}

// ---- campaigns and links ------------------------------------------------------------------------------------

const CAMPAIGN_METRICS = ['count_injected', 'count_delivered', 'count_bounce', 'count_unique_confirmed_opened', 'count_unique_clicked',
  'count_unique_human_confirmed_opened', 'count_unique_human_clicked', 'count_clicked'];

export async function loadCampaigns() {
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

export async function loadLinks() {
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
