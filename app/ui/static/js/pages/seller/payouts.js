// Seller: their payouts, newest first, with each one's status, expected arrival and, for a failed
// one, why (the money is back on their Stripe balance). GET /payouts

import { get } from '../../api.js';
import { money, pageHeading, pagedTable, statusBadge, time } from '../../components.js';
import { h } from '../../dom.js';

export async function render({ view, page, session, query }) {
  const payouts = pagedTable({
    caption: 'Payouts, newest first',
    emptyText: 'No payout yet.',
    load: (startingAfter) =>
      get('/payouts', { seller_id: session.user, limit: query.get('limit'), starting_after: startingAfter }),
    cursorOf: (payout) => payout.payout_id,
    columns: [
      { label: 'Requested', cell: (payout) => time(payout.created_at) },
      { label: 'Amount', cell: (payout) => money(payout.amount, payout.currency) },
      { label: 'Status', cell: (payout) => statusBadge(payout.status) },
      { label: 'Expected in the bank', cell: (payout) => time(payout.arrival_date) },
      { label: 'Why it failed', cell: failure },
      { label: 'Made', cell: (payout) => made(payout) },
      { label: 'Payout', cell: (payout) => h('span', { class: 'mono' }, payout.payout_id) },
    ],
  });
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  refresh.addEventListener('click', () => payouts.reload());
  view.append(
    pageHeading(page.title),
    h(
      'div',
      { class: 'actions panel' },
      refresh,
      h('a', { class: 'button', href: '#/seller/payouts/new' }, 'Request a payout'),
    ),
    payouts,
  );
  await payouts.reload();
}

function failure(payout) {
  if (payout.status !== 'failed') return '—';
  return h(
    'span',
    {},
    payout.failure_reason ?? 'Stripe gave no reason.',
    payout.failure_code ? h('span', { class: 'hint' }, ` (${payout.failure_code})`) : null,
  );
}

function made(payout) {
  if (payout.origin === 'stripe') return payout.automatic ? 'by Stripe’s schedule' : 'at Stripe';
  return 'here';
}
