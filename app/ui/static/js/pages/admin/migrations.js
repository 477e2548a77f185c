// Admin console: the legacy wallet migration. Bulk runs with their counts, totals and integrity
// checks; one run's rejected wallets; migrating one user now (admins), by the same code as the
// user's first use of the wallet.
// GET /admin/migrations, GET /admin/migrations/{run_id}, POST /admin/migrations/legacy-wallets/{user_id}

import { get, pathOf, post } from '../../api.js';
import {
  actionForm,
  detailPage,
  fieldList,
  listAndObjects,
  messageArea,
  money,
  notice,
  objectLink,
  pagedTable,
  pageHeading,
  panel,
  statusBadge,
  time,
  withOutcome,
} from '../../components.js';
import { h } from '../../dom.js';
import { formatDecimalMoney } from '../../format.js';
import { formRow, textInput } from '../../forms.js';
import { hasAnyRole } from '../../session.js';

const RUN = '/admin/migrations/{run_id}';
const MIGRATE_USER = '/admin/migrations/legacy-wallets/{user_id}';

export const render = listAndObjects(renderRuns, renderRun);

async function renderRuns({ view, page, session, query }) {
  const runs = pagedTable({
    caption: 'Bulk runs, newest first',
    emptyText: 'No bulk run yet: they are started from the command line (migrations/migrate_legacy_wallets.py).',
    load: (startingAfter) => get('/admin/migrations', { limit: query.get('limit'), starting_after: startingAfter }),
    cursorOf: (run) => run.run_id,
    columns: [
      {
        label: 'Run',
        cell: (run) => objectLink(page, run.run_id),
      },
      { label: 'Status', cell: (run) => statusBadge(run.status) },
      { label: 'Started', cell: (run) => time(run.started_at) },
      { label: 'Finished', cell: (run) => time(run.finished_at) },
      { label: 'By', cell: (run) => run.actor },
      { label: 'Wallets', cell: (run) => String(run.snapshot.count) },
      { label: 'Migrated', cell: (run) => String(run.counts.migrated ?? 0) },
      { label: 'Rejected', cell: (run) => String(run.counts.rejected ?? 0) },
      { label: 'Already migrated', cell: (run) => String(run.counts.already_migrated ?? 0) },
      { label: 'Posted', cell: (run) => postedAmounts(run.posted) },
      { label: 'Integrity', cell: (run) => integrityBadge(run.integrity_ok) },
    ],
  });
  view.append(pageHeading(page.title));
  if (hasAnyRole(session, ['admin'])) view.append(migrateOneUser()); // the service refuses anyone else anyway
  view.append(h('h2', {}, 'Bulk runs'), runs);
  await runs.reload();
}

function postedAmounts(posted) {
  const amounts = Object.entries(posted);
  if (amounts.length === 0) return '—';
  return amounts.flatMap(([currency, amount], index) => [index > 0 ? ', ' : null, money(amount, currency)]);
}

function integrityBadge(ok) {
  if (ok === null || ok === undefined) return 'not checked';
  return statusBadge(ok ? 'passed' : 'failed');
}

// "Migrate one user": their legacy balance into the ledger now, confirmed, once per action.
function migrateOneUser() {
  const area = messageArea();
  const input = textInput('migrate-user', 'user_id');
  const request = () => {
    const userId = input.value.trim();
    if (userId === '') {
      input.focus();
      return null;
    }
    return {
      confirm: {
        title: `Migrate ${userId} now?`,
        message: `${userId}'s legacy wallet balance moves into the ledger now, as their first use of the wallet would do it (audited as yours). A user already migrated is left as they are.`,
        confirmLabel: 'Migrate now',
      },
      perform: (action) => post(pathOf(MIGRATE_USER, { user_id: userId }), {}, action),
      done: migratedNotice,
    };
  };
  return h(
    'section',
    { 'aria-labelledby': 'migrate-heading' },
    h('h2', { id: 'migrate-heading' }, 'Migrate one user'),
    h('p', {}, 'Their legacy wallet balance into the ledger now, without waiting for their first use of the wallet.'),
    actionForm({ area, className: 'filters panel', rows: formRow(input, 'User id'), submitLabel: 'Migrate now', request }),
    area,
  );
}

function migratedNotice(result) {
  const shown =
    result.status === 'none'
      ? notice('success', `${result.user_id} has no legacy wallet: there is nothing to migrate.`)
      : notice(
          'success',
          `${result.user_id} is migrated.`,
          h(
            'p',
            {},
            'Moved into the ledger from their legacy wallet, all told: ',
            result.currency ? money(result.amount, result.currency) : String(result.amount),
            '.',
          ),
        );
  return withOutcome(shown, result.status);
}

async function renderRun({ view, page }, runId) {
  const shown = await detailPage({
    view,
    page,
    back: '← All migrations',
    title: `Run ${runId}`,
    load: () => get(pathOf(RUN, { run_id: runId })),
    draw: (run) => [runSummary(run), countsPanel(run), totalsPanel(run), integrityPanel(run)],
  });
  if (shown === null) return;
  const rejected = rejectedWallets(shown.object);
  shown.details.append(h('h2', {}, 'Rejected wallets'), rejected);
  await rejected.reload();
}

function rejectedWallets(run) {
  return pagedTable({
    caption: 'Rejected wallets, in legacy id order',
    emptyText: 'This run rejected no wallet.',
    // The run's first page of rejections came with it; the next pages are asked for.
    load: async (startingAfter) =>
      startingAfter === null
        ? run.rejected
        : (await get(pathOf(RUN, { run_id: run.run_id }), { starting_after: startingAfter })).rejected,
    cursorOf: (wallet) => wallet.legacy_id,
    columns: [
      { label: 'Legacy id', cell: (wallet) => h('span', { class: 'mono' }, wallet.legacy_id) },
      { label: 'User', cell: (wallet) => wallet.user_id ?? h('code', {}, wallet.raw_user_id) },
      { label: 'Reason', cell: (wallet) => h('code', {}, wallet.reason) },
      { label: 'Why', cell: (wallet) => wallet.detail },
      { label: 'Balance as stored', cell: (wallet) => h('code', {}, wallet.balance) },
      { label: 'Currency as stored', cell: (wallet) => h('code', {}, wallet.currency) },
    ],
  });
}

function runSummary(run) {
  return panel(
    'Run',
    fieldList([
      ['Status', statusBadge(run.status)],
      ['By', run.actor],
      ['Started', time(run.started_at)],
      ['Finished', run.finished_at ? time(run.finished_at) : null],
      ['Batches', `${run.batches} of at most ${run.batch_size} wallets`],
      ['Limited to', run.only_users === null ? null : `${run.only_users} users`],
      ['Wallets when it started', String(run.snapshot.count)],
      ['Unreadable amounts', run.snapshot.unparseable > 0 ? String(run.snapshot.unparseable) : null],
      ['Legacy checksum', h('span', { class: 'mono' }, run.snapshot.checksum)],
      [
        'Rolled back',
        run.rollback
          ? h('span', {}, time(run.rollback.at), `: ${run.rollback.rolled_back} users reversed, ${run.rollback.left} left migrated`)
          : null,
      ],
    ]),
  );
}

function countsPanel(run) {
  const counts = Object.entries(run.counts);
  return panel('Wallets by outcome', [
    counts.length === 0
      ? h('p', {}, 'None yet.')
      : fieldList(counts.map(([outcome, count]) => [outcome.replace(/_/g, ' '), String(count)])),
    Object.keys(run.posted).length > 0 ? h('p', {}, 'Posted to the ledger: ', postedAmounts(run.posted)) : null,
  ]);
}

function totalsPanel(run) {
  if (run.totals.length === 0) return null;
  const amount = (text, currency) => formatDecimalMoney(text, currency);
  return panel(
    'Totals per currency',
    h(
      'table',
      { class: 'data' },
      h('caption', {}, 'Legacy total = migrated + rejected + already migrated'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Currency', 'Legacy', 'Migrated', 'Rejected', 'Already migrated', 'Reconciles'].map((label) =>
            h('th', { scope: 'col' }, label),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        run.totals.map((total) =>
          h(
            'tr',
            {},
            h('td', { 'data-label': 'Currency' }, total.currency),
            h('td', { 'data-label': 'Legacy' }, amount(total.legacy, total.currency)),
            h('td', { 'data-label': 'Migrated' }, amount(total.migrated, total.currency)),
            h('td', { 'data-label': 'Rejected' }, amount(total.rejected, total.currency)),
            h('td', { 'data-label': 'Already migrated' }, amount(total.already_migrated, total.currency)),
            h('td', { 'data-label': 'Reconciles' }, statusBadge(total.reconciles ? 'yes' : 'no')),
          ),
        ),
      ),
    ),
  );
}

function integrityPanel(run) {
  if (run.integrity.length === 0) return null;
  return panel(
    'Integrity checks',
    h(
      'ul',
      { class: 'plain' },
      run.integrity.map((check) =>
        h(
          'li',
          { 'data-check': check.name },
          statusBadge(check.ok ? 'passed' : 'failed'),
          ' ',
          h('strong', {}, check.name.replace(/_/g, ' ')),
          `: ${check.detail}`,
          check.problems.length > 0 ? h('ul', {}, check.problems.map((problem) => h('li', {}, problem))) : null,
        ),
      ),
    ),
  );
}
