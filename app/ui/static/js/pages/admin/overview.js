// Admin console: the figures operators watch (money held, what waits for someone, the legacy
// migration, the last reconciliation), each one click from the page of the list behind it.
// GET /admin/overview

import { get } from '../../api.js';
import { fieldList, messageArea, money, pageHeading, panel, refreshedFigures, statusBadge, time } from '../../components.js';
import { h } from '../../dom.js';

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
  const { figures, refresh, reload } = refreshedFigures({
    area,
    load: () => get('/admin/overview'),
    draw: (overview) => overviewPanels(overview, addressOf),
  });
  view.append(pageHeading(page.title), area, h('div', { class: 'actions' }, refresh), figures);
  await reload();
}

function overviewPanels(overview, addressOf) {
  return [
    panel('Waiting for someone', countList(overview, addressOf), { headingId: 'overview-waiting' }),
    panel(
      'Money held',
      fieldList([
        ['In escrow', amounts(overview.escrow_held, 'escrow_held')],
        ['Released, waiting for its transfer', amounts(overview.pending_transfers, 'pending_transfers')],
      ]),
      { headingId: 'overview-money' },
    ),
    panel('Legacy wallet migration', migration(overview.migration_progress, addressOf), {
      headingId: 'overview-migration',
    }),
    panel('Reconciliation', reconciliation(overview, addressOf), { headingId: 'overview-reconciliation' }),
  ];
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
