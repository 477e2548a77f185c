// Admin console: the figures operators watch (money held, what waits for someone, the legacy
// migration, the last reconciliation), each one click from the page of the list behind it.
// GET /admin/overview

import { ApiProblem, get } from '../../api.js';
import { fieldList, messageArea, money, pageHeading, show, statusBadge, time } from '../../components.js';
import { h, replaceContent } from '../../dom.js';
import { problemNotice } from '../../problems.js';

// The counts, in the order they are shown: [figure, label, what its link says].
const WAITING = [
  ['open_disputes', 'Buyers’ disputes to decide', 'Show the open disputes'],
  ['open_chargebacks', 'Chargebacks open at Stripe', 'Show the open chargebacks'],
  ['failed_transfers', 'Failed transfers to sellers', 'Show the failed transfers'],
  ['failed_refunds', 'Failed refunds to buyers', 'Show the failed refunds'],
  ['open_discrepancies', 'Open reconciliation discrepancies', 'Show the open discrepancies'],
  ['dead_letters', 'Stripe events that kept failing', 'Show the dead letters'],
  ['topups_needing_review', 'Top-ups to review', 'Show the top-ups to review'],
];

export async function render({ view, page, addressOf }) {
  const area = messageArea();
  const figures = h('div');
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  const load = async () => {
    refresh.disabled = true;
    try {
      showOverview(figures, await get('/admin/overview'), addressOf);
      area.replaceChildren();
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      show(area, problemNotice(error, { retry: load }));
    } finally {
      refresh.disabled = false;
    }
  };
  refresh.addEventListener('click', load);
  view.append(pageHeading(page.title), area, h('div', { class: 'actions' }, refresh), figures);
  await load();
}

function showOverview(figures, overview, addressOf) {
  replaceContent(
    figures,
    panel('overview-waiting', 'Waiting for someone', countList(overview, addressOf)),
    panel(
      'overview-money',
      'Money held',
      fieldList([
        ['In escrow', amounts(overview.escrow_held, 'escrow_held')],
        ['Released, waiting for its transfer', amounts(overview.pending_transfers, 'pending_transfers')],
      ]),
    ),
    panel('overview-migration', 'Legacy wallet migration', migration(overview.migration_progress, addressOf)),
    panel('overview-reconciliation', 'Reconciliation', reconciliation(overview, addressOf)),
  );
}

function panel(id, title, ...content) {
  return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, title), content);
}

function countList(overview, addressOf) {
  return fieldList(
    WAITING.map(([name, label, linkText]) => {
      const figure = overview[name];
      const address = addressOf(figure.list);
      return [
        label,
        h(
          'span',
          {},
          h('span', { 'data-figure': name, class: 'figure' }, String(figure.count)),
          address ? [' ', h('a', { href: address }, linkText)] : null,
        ),
      ];
    }),
  );
}

function amounts(figure, name) {
  return h(
    'span',
    { 'data-figure': name },
    figure.amounts.flatMap((item, index) => [index > 0 ? ', ' : null, money(item.amount, item.currency)]),
  );
}

function migration(progress, addressOf) {
  const runs = addressOf(progress.list);
  const allRuns = runs ? h('p', {}, h('a', { href: runs }, 'All migration runs')) : null;
  const run = progress.last_run;
  if (run === null) return [h('p', {}, 'No bulk run yet.'), allRuns];
  const detail = addressOf(run.detail);
  return [
    fieldList([
      ['Last run', detail ? h('a', { href: detail, class: 'mono' }, run.run_id) : run.run_id],
      ['Status', statusBadge(run.status)],
      ['Started', time(run.started_at)],
      ['Finished', run.finished_at ? time(run.finished_at) : null],
      ['Wallets found', h('span', { 'data-figure': 'migration_wallets' }, String(run.wallets))],
      ['Migrated', h('span', { 'data-figure': 'migration_migrated' }, String(run.migrated))],
      ['Migrated before', h('span', { 'data-figure': 'migration_already_migrated' }, String(run.already_migrated))],
      ['Rejected', h('span', { 'data-figure': 'migration_rejected' }, String(run.rejected))],
      ['Still to migrate', h('span', { 'data-figure': 'migration_remaining' }, String(run.remaining))],
    ]),
    allRuns,
  ];
}

function reconciliation(overview, addressOf) {
  const last = overview.last_reconciliation;
  const success = overview.last_successful_reconciliation;
  const runs = addressOf('/admin/reconciliation/runs');
  return [
    last === null
      ? h('p', {}, 'No reconciliation has run yet.')
      : fieldList([
          ['Last run', h('span', {}, statusBadge(last.status), ' ', time(last.started_at))],
          ['Window', h('span', {}, time(last.window_start), ' to ', time(last.window_end))],
          ['New discrepancies', h('span', { 'data-figure': 'last_run_new_discrepancies' }, String(last.new_discrepancies))],
          ['Last success', success ? time(success.finished_at) : 'never'],
        ]),
    runs ? h('p', {}, h('a', { href: runs }, 'Reconciliation runs and discrepancies')) : null,
  ];
}
