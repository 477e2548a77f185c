// Admin console: transfers to sellers that failed, and refunds whose card part failed at Stripe
// (the money is back in escrow); such a refund can be given to the buyer's wallet instead (admins).
// GET /admin/transfers, GET /admin/refunds, POST /admin/refunds/{refund_id}/retry-to-wallet

import { get, pathOf, post } from '../../api.js';
import {
  actionButton,
  messageArea,
  money,
  notice,
  pageHeading,
  pagedTable,
  statusBadge,
  time,
  withOutcome,
} from '../../components.js';
import { h } from '../../dom.js';
import { formatMoney } from '../../format.js';
import { hasAnyRole } from '../../session.js';

const TO_WALLET = '/admin/refunds/{refund_id}/retry-to-wallet';

export async function render({ view, page, session }) {
  const area = messageArea();
  const transfers = pagedTable({
    caption: 'Failed transfers, newest first',
    emptyText: 'No transfer to a seller has failed.',
    load: (startingAfter) => get('/admin/transfers', { status: 'failed', starting_after: startingAfter }),
    cursorOf: (transfer) => transfer.transfer_id,
    columns: [
      { label: 'Transfer', cell: (transfer) => h('span', { class: 'mono' }, transfer.transfer_id) },
      { label: 'Seller', cell: (transfer) => transfer.seller_id },
      { label: 'Amount', cell: (transfer) => money(transfer.amount, transfer.currency) },
      { label: 'From', cell: (transfer) => (transfer.part === 'card' ? 'the order’s charge' : 'the platform balance') },
      { label: 'Order', cell: (transfer) => h('span', { class: 'mono' }, transfer.order_id) },
      { label: 'Attempts', cell: (transfer) => String(transfer.attempt) },
      {
        label: 'Why',
        cell: (transfer) =>
          [transfer.failure_message, transfer.failure_code && h('span', { class: 'hint' }, ` (${transfer.failure_code})`)].filter(
            Boolean,
          ),
      },
      { label: 'Last change', cell: (transfer) => time(transfer.updated_at) },
    ],
  });
  const canRetry = hasAnyRole(session, ['admin']); // the service refuses anyone else anyway
  const refunds = pagedTable({
    caption: 'Failed refunds, newest first',
    emptyText: 'No refund has failed.',
    load: (startingAfter) => get('/admin/refunds', { status: 'failed', starting_after: startingAfter }),
    cursorOf: (refund) => refund.refund_id,
    columns: [
      { label: 'Refund', cell: (refund) => h('span', { class: 'mono' }, refund.refund_id) },
      { label: 'Buyer', cell: (refund) => refund.buyer_id },
      { label: 'Seller', cell: (refund) => refund.seller_id },
      { label: 'Card part', cell: (refund) => money(refund.parts.card, refund.currency) },
      { label: 'Whole refund', cell: (refund) => money(refund.amount, refund.currency) },
      { label: 'Why it failed', cell: (refund) => refund.failure_reason ?? '—' },
      { label: 'Status', cell: (refund) => statusBadge(refund.status) },
      { label: 'Last change', cell: (refund) => time(refund.updated_at) },
      ...(canRetry ? [{ label: 'Action', cell: (refund) => toWalletButton(refund, area, () => refunds.reload()) }] : []),
    ],
  });
  view.append(
    pageHeading(page.title),
    area,
    h('h2', {}, 'Transfers to sellers'),
    h('p', {}, 'They are sent again automatically while the seller’s account can take them; these need a person.'),
    transfers,
    h('h2', {}, 'Refunds to buyers'),
    h('p', {}, 'The card part failed at Stripe and the money is back in escrow.'),
    refunds,
  );
  await Promise.all([transfers.reload(), refunds.reload()]);
}

// "Give it to the wallet": asks for the note the service keeps with the change, then confirms.
function toWalletButton(refund, area, reload) {
  const note = h('input', {
    id: `note-${refund.refund_id}`,
    name: 'note',
    type: 'text',
    autocomplete: 'off',
    value: 'The card refund failed at Stripe',
  });
  const button = actionButton({
    label: 'Give to wallet',
    area,
    confirm: {
      title: `Give ${formatMoney(refund.parts.card, refund.currency)} to ${refund.buyer_id}’s wallet?`,
      message: `Refund ${refund.refund_id} failed on the card. Its card part is credited to the buyer’s platform wallet instead, at once.`,
      confirmLabel: 'Give to wallet',
    },
    perform: (action) => post(pathOf(TO_WALLET, { refund_id: refund.refund_id }), { note: note.value.trim() }, action),
    done: (answer) => {
      reload();
      const given = `Refund ${answer.refund_id}: ${formatMoney(answer.parts.card, answer.currency)} is in ${answer.buyer_id}’s wallet.`;
      return withOutcome(notice('success', given), answer.status);
    },
  });
  return h('div', { class: 'row-action' }, h('label', { for: note.id }, 'Note'), note, button);
}
