// Seller: their balances. In escrow and pending transfer from the ledger; pending and available
// from their Stripe balance (with its age when Stripe was slow to answer); held for disputes and
// owed to the platform. GET /seller/{seller_id}/balance

import { get, pathOf } from '../../api.js';
import { fieldList, messageArea, money, notice, pageHeading, panel, refreshedFigures, time } from '../../components.js';
import { h } from '../../dom.js';
import { formatDuration } from '../../format.js';

const BALANCE = '/seller/{seller_id}/balance';

export async function render({ view, page, session }) {
  const area = messageArea();
  const { figures, refresh, reload } = refreshedFigures({
    area,
    load: () => get(pathOf(BALANCE, { seller_id: session.user })),
    draw: balancePanels,
  });
  view.append(
    pageHeading(page.title),
    area,
    figures,
    h(
      'div',
      { class: 'actions panel' },
      refresh,
      h('a', { class: 'button', href: '#/seller/payouts/new' }, 'Request a payout'),
      h('a', { href: '#/seller/payouts' }, 'Payout history'),
    ),
  );
  await reload();
}

function balancePanels(balance) {
  const amount = (value) => (value === null ? 'not known yet' : money(value, balance.currency));
  return [
    balance.stripe_balance_stale ? staleNotice(balance) : null,
    panel(
      'At Stripe',
      fieldList([
        ['Available', h('span', { 'data-figure': 'available' }, amount(balance.available))],
        ['Pending', h('span', { 'data-figure': 'pending' }, amount(balance.pending))],
        ['Next available', balance.next_available_on ? time(balance.next_available_on) : null],
        ['On its way to your bank', h('span', { 'data-figure': 'in_transit' }, amount(balance.in_transit))],
        ['As of', balance.stripe_balance_as_of ? time(balance.stripe_balance_as_of) : null],
      ]),
      { headingId: 'balance-stripe' },
    ),
    panel(
      'At the marketplace',
      fieldList([
        ['In escrow, until delivery', h('span', { 'data-figure': 'in_escrow' }, amount(balance.in_escrow))],
        [
          'Pending transfer to Stripe',
          h('span', { 'data-figure': 'pending_transfer' }, amount(balance.pending_transfer)),
        ],
        [
          'Held for disputes',
          h(
            'span',
            { 'data-figure': 'held_for_disputes' },
            amount(balance.held_for_disputes),
            balance.open_disputes > 0 ? ` (${balance.open_disputes} open)` : null,
          ),
        ],
        [
          'Owed to the platform',
          h('span', { 'data-figure': 'owed_to_platform' }, amount(balance.owed_to_platform)),
        ],
      ]),
      { headingId: 'balance-marketplace' },
    ),
  ];
}

function staleNotice(balance) {
  const age =
    balance.stripe_balance_age_seconds === null ? null : formatDuration(balance.stripe_balance_age_seconds);
  return notice(
    'warning',
    'Stripe did not answer in time: these Stripe figures are the last known ones.',
    balance.stripe_balance_as_of
      ? h('p', {}, 'Stripe gave them at ', time(balance.stripe_balance_as_of), age ? ` (${age} old).` : '.')
      : 'Stripe has not given your balance yet.',
  );
}
