// Admin console: reconciliation against Stripe. The runs (window, what each check read and
// matched, how long it took); the discrepancies they found, by status; one discrepancy in full
// and, for admins, resolving it: acknowledged, or adjusted by a ledger entry from one account to
// another, with a note. A balance drift a later run measured otherwise is closed by that run
// (superseded): shown with the run and why, offered no resolution.
// GET /admin/reconciliation/runs, GET /admin/reconciliation/discrepancies,
// GET /admin/reconciliation/discrepancies/{discrepancy_id},
// POST /admin/reconciliation/discrepancies/{discrepancy_id}/resolve

import { ApiProblem, bodyFieldValues, get, parameterValues, pathOf, post } from '../../api.js';
import {
  choices,
  fieldList,
  filteredList,
  messageArea,
  money,
  notice,
  pageHeading,
  pagedTable,
  runAction,
  show,
  statusBadge,
  time,
} from '../../components.js';
import { h, replaceContent } from '../../dom.js';
import { formatMoney, parseMoney } from '../../format.js';
import { problemNotice } from '../../problems.js';
import { hasAnyRole } from '../../session.js';

const DISCREPANCIES = 'GET /admin/reconciliation/discrepancies';
const RESOLVE_OPERATION = 'POST /admin/reconciliation/discrepancies/{discrepancy_id}/resolve';
const ONE = '/admin/reconciliation/discrepancies/{discrepancy_id}';
const RESOLVE = '/admin/reconciliation/discrepancies/{discrepancy_id}/resolve';
const ANY = 'any';
// Statuses an admin may still resolve from: an acknowledged one may still be adjusted.
const RESOLVABLE = ['open', 'acknowledged'];

export function render(context) {
  const [discrepancyId] = context.segments;
  return discrepancyId === undefined ? renderLists(context) : renderDiscrepancy(context, discrepancyId);
}

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
        cell: (item) => h('a', { href: `#${page.path}/${encodeURIComponent(item.id)}`, class: 'mono' }, item.id),
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
  const area = messageArea();
  const details = h('div');
  view.append(
    h('p', {}, h('a', { href: `#${page.path}` }, '← Runs and discrepancies')),
    pageHeading(`Discrepancy ${discrepancyId}`),
    area,
    details,
  );
  let discrepancy;
  try {
    discrepancy = await get(pathOf(ONE, { discrepancy_id: discrepancyId }));
  } catch (error) {
    if (!(error instanceof ApiProblem)) throw error;
    show(area, problemNotice(error));
    return;
  }
  const resolutions = await bodyFieldValues(RESOLVE_OPERATION, 'resolution');
  const redraw = () =>
    replaceContent(
      details,
      summary(discrepancy),
      // Offered to admins while it can still change; the service refuses anything else anyway.
      hasAnyRole(session, ['admin']) && RESOLVABLE.includes(discrepancy.status)
        ? resolveForm(discrepancy, resolutions, area, (resolved) => {
            discrepancy = resolved;
            redraw();
          })
        : null,
    );
  redraw();
}

function discrepancyLink(id) {
  return h('a', { href: `#/admin/reconciliation/${encodeURIComponent(id)}`, class: 'mono' }, id);
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

function summary(discrepancy) {
  const resolution = discrepancy.resolution;
  const superseded = discrepancy.superseded;
  return h(
    'section',
    { class: 'panel', 'data-status': discrepancy.status },
    h('h2', {}, discrepancy.kind.replace(/_/g, ' ')),
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
      ['Replaced by', superseded?.replaced_by ? discrepancyLink(superseded.replaced_by) : null],
    ]),
    h(
      'p',
      {},
      h(
        'a',
        {
          href: `#/admin/audit?object_type=discrepancy&object_id=${encodeURIComponent(discrepancy.id)}`,
        },
        'Audit trail of this discrepancy',
      ),
    ),
  );
}

const RESOLUTION_TEXT = {
  acknowledged: 'Acknowledge: understood, nothing to book',
  adjusted: 'Adjust: book a correcting ledger entry',
};

function textInput(id, name) {
  return h('input', { id, name, type: 'text', autocomplete: 'off', spellcheck: 'false' });
}

// Its outcome and problems show in the page's message area.
function resolveForm(discrepancy, resolutions, area, resolved) {
  const currency = discrepancy.currency;
  const resolution = h(
    'select',
    { id: 'resolve-resolution', name: 'resolution' },
    resolutions.map((value) => h('option', { value }, RESOLUTION_TEXT[value] ?? value)),
  );
  const fromAccount = textInput('adjust-from', 'from_account');
  const toAccount = textInput('adjust-to', 'to_account');
  const amount = h('input', { id: 'adjust-amount', name: 'amount', type: 'text', inputmode: 'decimal', autocomplete: 'off' });
  const adjustment = h(
    'fieldset',
    { hidden: true },
    h('legend', {}, 'Adjustment entry'),
    h('div', {}, h('label', { for: fromAccount.id }, 'From account', h('span', { class: 'hint' }, ' e.g. world:card')), fromAccount),
    h('div', {}, h('label', { for: toAccount.id }, 'To account', h('span', { class: 'hint' }, ' e.g. platform:fees')), toAccount),
    h('div', {}, h('label', { for: amount.id }, `Amount (${currency.toUpperCase()})`), amount),
  );
  const note = h('textarea', { id: 'resolve-note', name: 'note', rows: '3' });
  const submit = h('button', { type: 'submit' }, 'Resolve discrepancy');
  const showAdjustment = () => {
    adjustment.hidden = resolution.value !== 'adjusted';
  };
  resolution.addEventListener('change', showAdjustment);
  showAdjustment();
  const form = h(
    'form',
    { class: 'stacked', novalidate: true },
    h('div', {}, h('label', { for: resolution.id }, 'Resolution'), resolution),
    adjustment,
    h('div', {}, h('label', { for: note.id }, 'Note', h('span', { class: 'hint' }, ' why; kept in the audit log')), note),
    h('div', {}, submit),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = { resolution: resolution.value, note: note.value.trim() };
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
    runAction({
      area,
      trigger: submit,
      confirm: confirmation(discrepancy, body, minor),
      perform: (action) => post(pathOf(RESOLVE, { discrepancy_id: discrepancy.id }), body, action),
      done: (answer) => {
        resolved(answer);
        const entry = answer.resolution?.adjustment_entry_id;
        const shown = notice(
          'success',
          `Resolved: ${answer.status}.`,
          entry ? h('p', {}, 'Booked as ledger entry ', h('span', { class: 'mono' }, entry), '.') : null,
        );
        shown.dataset.outcome = answer.status;
        return shown;
      },
    });
  });
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'resolve-heading' },
    h('h2', { id: 'resolve-heading' }, 'Resolve'),
    form,
  );
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
