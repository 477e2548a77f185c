// Admin console: reconciliation against Stripe. The runs (window, what each check read and
// matched, how long it took); the discrepancies they found, by status; one discrepancy in full
// and, for admins, resolving it: acknowledged, or adjusted by a ledger entry from one account to
// another, with a note. A balance drift a later run measured otherwise is closed by that run
// (superseded): shown with the run and why, offered no resolution.
// GET /admin/reconciliation/runs, GET /admin/reconciliation/discrepancies,
// GET /admin/reconciliation/discrepancies/{discrepancy_id},
// POST /admin/reconciliation/discrepancies/{discrepancy_id}/resolve

import { bodyFieldValues, get, parameterValues, pathOf, post } from '../../api.js';
import {
  auditLink,
  choices,
  detailPage,
  fieldList,
  filteredList,
  listAndObjects,
  money,
  notice,
  objectLink,
  pagedTable,
  pageHeading,
  panel,
  resolvePanel,
  statusBadge,
  time,
  withOutcome,
} from '../../components.js';
import { h } from '../../dom.js';
import { formatMoney, parseMoney } from '../../format.js';
import { amountInput, formRow, labelledOptions, selectControl, shownWhen, textInput } from '../../forms.js';
import { hasAnyRole } from '../../session.js';

const DISCREPANCIES = 'GET /admin/reconciliation/discrepancies';
const RESOLVE_OPERATION = 'POST /admin/reconciliation/discrepancies/{discrepancy_id}/resolve';
const ONE = '/admin/reconciliation/discrepancies/{discrepancy_id}';
const RESOLVE = '/admin/reconciliation/discrepancies/{discrepancy_id}/resolve';
const ANY = 'any';
// Statuses an admin may still resolve from: an acknowledged one may still be adjusted.
const RESOLVABLE = ['open', 'acknowledged'];

export const render = listAndObjects(renderLists, renderDiscrepancy);

async function renderLists({ view, page, query, setQuery }) {
  const statuses = await parameterValues(DISCREPANCIES, 'status');
  const discrepancies = filteredList({
    query,
    setQuery,
    defaults: { status: 'open' },
    submitLabel: 'Show discrepancies',
    fields: [{ name: 'status', label: 'Status', options: choices(statuses, 'Any status', ANY) }],
    load: ({ status }, startingAfter) =>
      get('/admin/reconciliation/discrepancies', {
        status: status === ANY ? null : status,
        starting_after: startingAfter,
      }),
    cursorOf: (item) => item.id,
    caption: 'Discrepancies, newest first',
    emptyText: 'No discrepancy has this status.',
    columns: [
      {
        label: 'Discrepancy',
        cell: (item) => objectLink(page, item.id),
      },
      { label: 'Kind', cell: (item) => item.kind.replace(/_/g, ' ') },
      { label: 'Status', cell: (item) => statusBadge(item.status) },
      { label: 'What', cell: (item) => item.summary },
      { label: 'Our books', cell: (item) => amountOrNothing(item.expected, item.currency) },
      { label: 'Stripe', cell: (item) => amountOrNothing(item.actual, item.currency) },
      { label: 'Runs that found it', cell: (item) => String(item.times_found) },
      { label: 'Last found', cell: (item) => time(item.last_found_at) },
    ],
  });
  const runs = pagedTable({
    caption: 'Runs, newest first',
    emptyText: 'No reconciliation has run yet: it runs daily, or from the command line (python -m app reconcile).',
    load: (startingAfter) => get('/admin/reconciliation/runs', { starting_after: startingAfter }),
    cursorOf: (run) => run.id,
    columns: [
      { label: 'Run', cell: (run) => h('span', { class: 'mono' }, run.id) },
      { label: 'Status', cell: (run) => statusBadge(run.status) },
      { label: 'Window', cell: (run) => h('span', {}, time(run.window_start), ' to ', time(run.window_end)) },
      { label: 'Started', cell: (run) => time(run.started_at) },
      { label: 'Took', cell: (run) => (run.duration_ms === null ? '—' : `${run.duration_ms} ms`) },
      { label: 'Checked', cell: (run) => checked(run.counts) },
      { label: 'New discrepancies', cell: (run) => String(run.new_discrepancies) },
      { label: 'Found again', cell: (run) => String(run.known_discrepancies) },
      { label: 'Drifts superseded', cell: (run) => String(run.superseded_discrepancies) },
      { label: 'By', cell: (run) => run.trigger },
      { label: 'Error', cell: (run) => run.error ?? '—' },
    ],
  });
  view.append(pageHeading(page.title), h('h2', {}, 'Discrepancies'), discrepancies, h('h2', {}, 'Runs'), runs);
  await Promise.all([discrepancies.reload(), runs.reload()]);
}

function amountOrNothing(amount, currency) {
  return amount === null ? 'nothing' : money(amount, currency);
}

// Summed over the run's checks: "120 Stripe objects, 118 records, 117 matched".
function checked(counts) {
  const total = (field) => Object.values(counts).reduce((sum, check) => sum + check[field], 0);
  return `${total('stripe_objects')} Stripe objects, ${total('our_records')} records, ${total('matched')} matched`;
}

async function renderDiscrepancy({ view, page, session }, discrepancyId) {
  const resolutions = await bodyFieldValues(RESOLVE_OPERATION, 'resolution');
  await detailPage({
    view,
    page,
    back: '← Runs and discrepancies',
    title: `Discrepancy ${discrepancyId}`,
    load: () => get(pathOf(ONE, { discrepancy_id: discrepancyId })),
    draw: (discrepancy, { area, redraw }) => [
      summary(discrepancy, page),
      // Offered to admins while it can still change; the service refuses anything else anyway.
      hasAnyRole(session, ['admin']) && RESOLVABLE.includes(discrepancy.status)
        ? resolveForm(discrepancy, resolutions, area, redraw)
        : null,
    ],
  });
}

function ids(byName) {
  const pairs = Object.entries(byName);
  if (pairs.length === 0) return null;
  return h(
    'ul',
    { class: 'plain' },
    pairs.map(([name, id]) => h('li', {}, `${name.replace(/_/g, ' ')}: `, h('span', { class: 'mono' }, id))),
  );
}

function summary(discrepancy, page) {
  const resolution = discrepancy.resolution;
  const superseded = discrepancy.superseded;
  return panel(
    discrepancy.kind.replace(/_/g, ' '),
    [
      fieldList([
        ['Status', statusBadge(discrepancy.status)],
        ['What', discrepancy.summary],
        ['Our books', amountOrNothing(discrepancy.expected, discrepancy.currency)],
        ['Stripe', amountOrNothing(discrepancy.actual, discrepancy.currency)],
        ['Platform balance effect', money(discrepancy.balance_effect, discrepancy.currency)],
        ['Stripe objects', ids(discrepancy.stripe_ids)],
        ['Our records', ids(discrepancy.our_ids)],
        ['Found by', `${discrepancy.times_found} run(s), first ${discrepancy.first_run_id}`],
        ['First found', time(discrepancy.first_found_at)],
        ['Last found', time(discrepancy.last_found_at)],
        ['Resolved', resolution ? h('span', {}, `${resolution.resolution} by ${resolution.by}, `, time(resolution.at)) : null],
        ['Note', resolution?.note],
        ['Adjustment entry', resolution?.adjustment_entry_id ? h('span', { class: 'mono' }, resolution.adjustment_entry_id) : null],
        ['Superseded', superseded ? h('span', {}, `by run ${superseded.run_id}, `, time(superseded.at)) : null],
        ['Why', superseded?.reason],
        ['Unexplained since', superseded ? money(superseded.unexplained, discrepancy.currency) : null],
        ['Replaced by', superseded?.replaced_by ? objectLink(page, superseded.replaced_by) : null],
      ]),
      h('p', {}, auditLink('discrepancy', discrepancy.id, 'Audit trail of this discrepancy')),
    ],
    { 'data-status': discrepancy.status },
  );
}

const RESOLUTION_TEXT = {
  acknowledged: 'Acknowledge: understood, nothing to book',
  adjusted: 'Adjust: book a correcting ledger entry',
};

// Its outcome and problems show in the page's message area.
function resolveForm(discrepancy, resolutions, area, resolved) {
  const currency = discrepancy.currency;
  const resolution = selectControl('resolve-resolution', 'resolution', labelledOptions(resolutions, RESOLUTION_TEXT));
  const fromAccount = textInput('adjust-from', 'from_account');
  const toAccount = textInput('adjust-to', 'to_account');
  const amount = amountInput('adjust-amount', 'amount');
  const adjustment = h(
    'fieldset',
    {},
    h('legend', {}, 'Adjustment entry'),
    formRow(fromAccount, 'From account', 'e.g. world:card'),
    formRow(toAccount, 'To account', 'e.g. platform:fees'),
    formRow(amount, `Amount (${currency.toUpperCase()})`),
  );
  const rows = [formRow(resolution, 'Resolution'), shownWhen(adjustment, resolution, 'adjusted')];
  const request = (note) => {
    const body = { resolution: resolution.value, note };
    let minor = null;
    if (body.resolution === 'adjusted') {
      const typed = amount.value.trim();
      minor = parseMoney(typed, currency);
      // What cannot be read as an amount is sent as typed, so the service names the problem.
      body.adjustment = {
        from_account: fromAccount.value.trim(),
        to_account: toAccount.value.trim(),
        amount: minor ?? typed,
        currency,
      };
    }
    return {
      confirm: confirmation(discrepancy, body, minor),
      perform: (action) => post(pathOf(RESOLVE, { discrepancy_id: discrepancy.id }), body, action),
      done: (answer) => {
        resolved(answer);
        const entry = answer.resolution?.adjustment_entry_id;
        return withOutcome(
          notice(
            'success',
            `Resolved: ${answer.status}.`,
            entry ? h('p', {}, 'Booked as ledger entry ', h('span', { class: 'mono' }, entry), '.') : null,
          ),
          answer.status,
        );
      },
    };
  };
  return resolvePanel({ area, rows, noteHint: 'why; kept in the audit log', submitLabel: 'Resolve discrepancy', request });
}

function confirmation(discrepancy, body, minor) {
  if (body.resolution !== 'adjusted') {
    return {
      title: 'Acknowledge this discrepancy?',
      message: 'It is marked understood and nothing is booked; it can still be adjusted later.',
      confirmLabel: 'Acknowledge',
    };
  }
  const moved = minor === null ? body.adjustment.amount : formatMoney(minor, discrepancy.currency);
  return {
    title: 'Book this adjustment?',
    message: `${moved} moves from ${body.adjustment.from_account} to ${body.adjustment.to_account} as a ledger entry of kind adjustment, with your note. This cannot be undone.`,
    confirmLabel: 'Book adjustment',
  };
}
