// Admin console: the disputes queue (buyers' disputes and chargebacks) with how the money at
// stake was paid and whether the seller had been paid; one dispute with its evidence (read and
// downloaded) and, for an open buyer's dispute, resolving it (admins): refund, release or split.
// GET /admin/disputes, GET /dispute/{dispute_id}, GET /dispute/{dispute_id}/evidence/{file_id},
// POST /admin/disputes/{dispute_id}/resolve

import { ApiProblem, bodyFieldValues, download, get, parameterValues, pathOf, post } from '../../api.js';
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
  pageHeading,
  panel,
  resolvePanel,
  show,
  statusBadge,
  time,
  withOutcome,
} from '../../components.js';
import { h } from '../../dom.js';
import { formatMoney, parseMoney } from '../../format.js';
import { amountInput, formRow, labelledOptions, selectControl, shownWhen } from '../../forms.js';
import { problemNotice } from '../../problems.js';
import { hasAnyRole } from '../../session.js';

const LIST = 'GET /admin/disputes';
const RESOLVE_OPERATION = 'POST /admin/disputes/{dispute_id}/resolve';
const ONE = '/dispute/{dispute_id}';
const EVIDENCE_FILE = '/dispute/{dispute_id}/evidence/{file_id}';
const RESOLVE = '/admin/disputes/{dispute_id}/resolve';
const ANY = 'any';
const OPEN_CHOICES = [
  [ANY, 'Open or closed'],
  ['true', 'Open only'],
  ['false', 'Closed only'],
];

export const render = listAndObjects(renderQueue, renderDispute);

async function renderQueue({ view, page, query, setQuery }) {
  const [statuses, kinds] = await Promise.all([parameterValues(LIST, 'status'), parameterValues(LIST, 'kind')]);
  const list = filteredList({
    query,
    setQuery,
    // The queue: what is still open, buyers' disputes and chargebacks alike.
    defaults: { open: 'true' },
    submitLabel: 'Show disputes',
    fields: [
      { name: 'open', label: 'Open or closed', options: OPEN_CHOICES },
      { name: 'status', label: 'Status', options: choices(statuses, 'Any status', ANY) },
      { name: 'kind', label: 'Kind', options: choices(kinds, 'Buyers’ disputes and chargebacks') },
    ],
    load: ({ status, open, ...filters }, startingAfter) =>
      get('/admin/disputes', {
        ...filters,
        status: status === ANY ? null : status,
        open: open === ANY ? null : open,
        starting_after: startingAfter,
      }),
    cursorOf: (dispute) => dispute.dispute_id,
    caption: 'Disputes, newest first',
    emptyText: 'No dispute matches these filters.',
    columns: [
      {
        label: 'Dispute',
        cell: (dispute) => objectLink(page, dispute.dispute_id),
      },
      { label: 'Kind', cell: (dispute) => dispute.kind },
      { label: 'Status', cell: (dispute) => statusBadge(dispute.status) },
      { label: 'Amount', cell: (dispute) => money(dispute.amount, dispute.currency) },
      { label: 'Paid by', cell: (dispute) => funding(dispute.funding, dispute.currency) },
      { label: 'Seller paid', cell: (dispute) => transferred(dispute.transferred) },
      { label: 'Reason', cell: (dispute) => dispute.reason.replace(/_/g, ' ') },
      { label: 'Order', cell: (dispute) => (dispute.order_id ? h('span', { class: 'mono' }, dispute.order_id) : '—') },
      { label: 'Opened', cell: (dispute) => time(dispute.created_at) },
    ],
  });
  view.append(pageHeading(page.title), list);
  await list.reload();
}

/** How the money at stake was paid: "card $12.99, wallet $5.00" (the sources that paid). */
function funding(parts, currency) {
  const paid = ['card', 'wallet', 'legacy'].filter((source) => parts[source] > 0);
  if (paid.length === 0) return '—';
  return paid.flatMap((source, index) => [index > 0 ? ', ' : null, `${source} `, money(parts[source], currency)]);
}

function transferred(yes) {
  return statusBadge(yes ? 'transferred' : 'not_transferred');
}

async function renderDispute({ view, page, session }, disputeId) {
  const outcomes = await bodyFieldValues(RESOLVE_OPERATION, 'outcome');
  await detailPage({
    view,
    page,
    back: '← The disputes queue',
    title: `Dispute ${disputeId}`,
    load: () => get(pathOf(ONE, { dispute_id: disputeId })),
    draw: (dispute, { area, redraw }) => [
      summary(dispute),
      evidencePanel(dispute, area),
      // Offered to admins, for a buyer's dispute still open; the service refuses anything else anyway.
      hasAnyRole(session, ['admin']) && dispute.kind === 'buyer' && dispute.open
        ? resolveForm(dispute, outcomes, area, (resolved) => redraw({ ...dispute, ...resolved }))
        : null,
    ],
  });
}

function summary(dispute) {
  return panel(
    dispute.kind === 'buyer' ? 'A buyer’s dispute' : 'A chargeback',
    [
      fieldList([
        ['Status', statusBadge(dispute.status)],
        ['Amount', money(dispute.amount, dispute.currency)],
        ['Paid by', funding(dispute.funding, dispute.currency)],
        ['Seller paid when it opened', transferred(dispute.transferred)],
        ['Reason', dispute.reason.replace(/_/g, ' ')],
        ['What the buyer says', dispute.description],
        ['Order', dispute.order_id],
        ['Buyer', dispute.buyer_id],
        [
          'Sellers',
          dispute.shares.length === 0
            ? null
            : dispute.shares.map((share, index) => [
                index > 0 ? ', ' : null,
                `${share.seller_id} `,
                money(share.amount, dispute.currency),
                share.transferred ? ' (paid)' : '',
              ]),
        ],
        ['Stripe dispute', dispute.stripe_dispute_id],
        ['Opened', time(dispute.created_at)],
        ['Resolved', dispute.resolved_at ? time(dispute.resolved_at) : null],
        ['Outcome', dispute.outcome ? dispute.outcome.replace(/_/g, ' ') : null],
        ['Note', dispute.note],
        ['Refund', dispute.refund_id],
      ]),
      h('p', {}, auditLink('dispute', dispute.dispute_id, 'Audit trail of this dispute')),
    ],
    { 'data-status': dispute.status },
  );
}

function evidencePanel(dispute, area) {
  const items = dispute.evidence ?? [];
  return panel(
    'Evidence',
    items.length === 0
      ? h('p', {}, 'Nobody has added evidence yet.')
      : h(
          'ul',
          { class: 'plain evidence' },
          items.map((item) =>
            h(
              'li',
              { 'data-evidence': item.evidence_id },
              h('p', { class: 'meta' }, `${item.author_id} (${item.author_role}), `, time(item.created_at)),
              item.text !== null ? h('p', { class: 'evidence-text' }, item.text) : null,
              item.file_id !== null ? downloadButton(dispute, item, area) : null,
            ),
          ),
        ),
    { headingId: 'evidence-heading' },
  );
}

function downloadButton(dispute, item, area) {
  const size = item.size === null ? '' : `, ${new Intl.NumberFormat(undefined, { style: 'unit', unit: 'kilobyte' }).format(Math.ceil(item.size / 1024))}`;
  const button = h('button', { type: 'button', class: 'secondary' }, `Download ${item.filename}`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const file = await download(pathOf(EVIDENCE_FILE, { dispute_id: dispute.dispute_id, file_id: item.file_id }));
      save(file);
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      show(area, problemNotice(error));
    } finally {
      button.disabled = false;
    }
  });
  return h('p', {}, button, h('span', { class: 'hint' }, ` ${item.content_type ?? 'file'}${size}`));
}

// The browser saves the bytes under the service's name for them.
function save({ blob, filename }) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

const OUTCOME_TEXT = {
  refund_buyer: 'Refund the buyer',
  release_to_seller: 'Release to the seller',
  split: 'Split: refund part, release the rest',
};

// Its outcome and problems show in the page's message area: a resolved dispute has no form.
function resolveForm(dispute, outcomes, area, resolved) {
  const outcome = selectControl('resolve-outcome', 'outcome', labelledOptions(outcomes, OUTCOME_TEXT));
  const refundAmount = amountInput('resolve-refund-amount', 'refund_amount');
  const rows = [
    formRow(outcome, 'Decision'),
    shownWhen(
      formRow(refundAmount, `Refund to the buyer (${dispute.currency.toUpperCase()})`, 'the rest is released to the seller'),
      outcome,
      'split',
    ),
  ];
  const request = (note) => {
    const body = { outcome: outcome.value, note };
    let refund = null;
    if (outcome.value === 'split') {
      const typed = refundAmount.value.trim();
      refund = parseMoney(typed, dispute.currency);
      // What cannot be read as an amount is sent as typed, so the service names the problem.
      body.refund_amount = refund ?? typed;
    }
    return {
      confirm: {
        title: `${OUTCOME_TEXT[body.outcome] ?? body.outcome}?`,
        message: consequence(dispute, body.outcome, refund),
        confirmLabel: 'Resolve dispute',
      },
      perform: (action) => post(pathOf(RESOLVE, { dispute_id: dispute.dispute_id }), body, action),
      done: (answer) => {
        resolved(answer);
        return withOutcome(resolvedNotice(answer), answer.status);
      },
    };
  };
  return resolvePanel({ area, rows, noteHint: 'why; kept with the dispute', submitLabel: 'Resolve dispute', request });
}

// A dispute resolved meanwhile another way is refused (409 dispute_not_open), shown as its problem.
function resolvedNotice(answer) {
  const outcome = (answer.outcome ?? answer.status).replace(/_/g, ' ');
  return notice(
    'success',
    `Resolved: ${outcome}.`,
    answer.refund_id ? `Refund ${answer.refund_id} is on its way back to the buyer.` : null,
  );
}

function consequence(dispute, outcome, refund) {
  const whole = formatMoney(dispute.amount, dispute.currency);
  if (outcome === 'refund_buyer') return `${whole} goes back to the buyer, each part to where it came from (card, wallet, legacy balance).`;
  if (outcome === 'release_to_seller') return `${whole} is released to the seller.`;
  if (outcome === 'split' && refund !== null) {
    return `${formatMoney(refund, dispute.currency)} goes back to the buyer and the rest of ${whole} is released to the seller.`;
  }
  return `The dispute of ${whole} is resolved as ${outcome.replace(/_/g, ' ')}.`;
}
