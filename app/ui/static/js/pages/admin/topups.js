// Admin console: wallet top-ups that need a person's review (paid an amount other than asked,
// or by another buyer), and the others by status. GET /admin/topups

import { get, parameterValues } from '../../api.js';
import { choices, filteredList, money, pageHeading, statusBadge, time } from '../../components.js';
import { h } from '../../dom.js';

const LIST = 'GET /admin/topups';
const ANY = 'any';

export async function render({ view, page, query, setQuery }) {
  const statuses = await parameterValues(LIST, 'status');
  const list = filteredList({
    query,
    setQuery,
    defaults: { status: 'needs_review' },
    submitLabel: 'Show top-ups',
    fields: [{ name: 'status', label: 'Status', options: choices(statuses, 'Any status', ANY) }],
    load: ({ status }, startingAfter) =>
      get('/admin/topups', { status: status === ANY ? null : status, starting_after: startingAfter }),
    cursorOf: (topup) => topup.topup_id,
    caption: 'Top-ups, newest first',
    emptyText: 'No top-up has this status.',
    columns: [
      { label: 'Top-up', cell: (topup) => h('span', { class: 'mono' }, topup.topup_id) },
      { label: 'Buyer', cell: (topup) => topup.user_id },
      { label: 'Amount', cell: (topup) => money(topup.amount, topup.currency) },
      { label: 'Status', cell: (topup) => statusBadge(topup.status) },
      { label: 'Why', cell: (topup) => topup.review_reason ?? '—' },
      {
        label: 'PaymentIntent',
        cell: (topup) =>
          topup.payment_intent_id ? h('span', { class: 'mono' }, topup.payment_intent_id) : '—',
      },
      { label: 'Requested', cell: (topup) => time(topup.created_at) },
      {
        label: 'History',
        cell: (topup) =>
          h(
            'a',
            { href: `#/admin/audit?object_type=topup&object_id=${encodeURIComponent(topup.topup_id)}` },
            'Audit trail',
          ),
      },
    ],
  });
  view.append(pageHeading(page.title), list);
  await list.reload();
}
