// Admin console: sellers with a connected account and their verification status, filtered by
// status or found by seller or account id; one seller's status in full, and (admins) a check
// with Stripe. GET /admin/sellers, GET/POST /seller/{seller_id}/stripe-status…

import { ApiProblem, get, parameterValues, pathOf, post } from '../../api.js';
import {
  choices,
  filteredList,
  messageArea,
  notice,
  pageHeading,
  runAction,
  show,
  statusBadge,
  time,
} from '../../components.js';
import { h, replaceContent } from '../../dom.js';
import { problemNotice } from '../../problems.js';
import { hasAnyRole } from '../../session.js';
import { REFRESH, loadStanding, standingPanels } from '../../verification.js';

const LIST = 'GET /admin/sellers';

export function render(context) {
  const [sellerId] = context.segments;
  return sellerId === undefined ? renderList(context) : renderSeller(context, sellerId);
}

async function renderList({ view, page, query, setQuery }) {
  const statuses = await parameterValues(LIST, 'status');
  const list = filteredList({
    query,
    setQuery,
    submitLabel: 'Show sellers',
    fields: [
      { name: 'status', label: 'Status', options: choices(statuses, 'Any status') },
      { name: 'q', label: 'Seller or account', hint: 'a seller id or acct_…, exactly' },
    ],
    load: (filters, startingAfter) => get('/admin/sellers', { ...filters, starting_after: startingAfter }),
    cursorOf: (seller) => seller.account_id,
    caption: 'Sellers, newest account first',
    emptyText: 'No seller matches these filters.',
    columns: [
      {
        label: 'Seller',
        cell: (seller) =>
          seller.seller_id === null
            ? h('span', { class: 'muted' }, 'names no seller')
            : h('a', { href: `#${page.path}/${encodeURIComponent(seller.seller_id)}` }, seller.seller_id),
      },
      { label: 'Account', cell: (seller) => h('span', { class: 'mono' }, seller.account_id) },
      { label: 'Status', cell: (seller) => statusBadge(seller.status) },
      { label: 'Receives payments', cell: (seller) => (seller.can_receive_transfers ? 'Yes' : 'No') },
      { label: 'Still due', cell: (seller) => dueSummary(seller.requirement_counts) },
      { label: 'Account opened', cell: (seller) => time(seller.created_at) },
      { label: 'Last read from Stripe', cell: (seller) => time(seller.updated_at) },
    ],
  });
  view.append(pageHeading(page.title), list);
  await list.reload();
}

function dueSummary(counts) {
  const parts = [
    [counts.past_due, 'past due'],
    [counts.currently_due, 'due now'],
    [counts.pending_verification, 'being checked'],
    [counts.eventually_due, 'due later'],
  ].filter(([count]) => count > 0);
  return parts.length === 0 ? 'nothing' : parts.map(([count, what]) => `${count} ${what}`).join(', ');
}

async function renderSeller({ view, page, session }, sellerId) {
  const area = messageArea();
  const panels = h('div');
  view.append(
    h('p', {}, h('a', { href: `#${page.path}` }, '← All sellers')),
    pageHeading(`Seller ${sellerId}`),
    area,
    panels,
  );
  let standing;
  try {
    standing = await loadStanding(sellerId);
  } catch (error) {
    if (!(error instanceof ApiProblem)) throw error;
    show(area, problemNotice(error));
    return;
  }
  replaceContent(panels, standingPanels(standing), auditLink(standing));
  if (!hasAnyRole(session, ['admin'])) return; // support reads; the service refuses them a refresh anyway
  const check = h('button', { type: 'button', class: 'secondary' }, 'Check with Stripe now');
  check.addEventListener('click', () =>
    runAction({
      area,
      trigger: check,
      confirm: {
        title: 'Check with Stripe now?',
        message: `The service reads ${sellerId}’s account from Stripe now and stores what it finds (audited as yours).`,
        confirmLabel: 'Check now',
      },
      perform: (action) => post(pathOf(REFRESH, { seller_id: sellerId }), undefined, action),
      done: (fresh) => {
        replaceContent(panels, standingPanels(fresh), auditLink(fresh));
        return notice('success', `Checked with Stripe: the status is ${fresh.status.replace(/_/g, ' ')}.`);
      },
    }),
  );
  view.insertBefore(h('div', { class: 'actions panel' }, check), panels);
}

function auditLink(standing) {
  if (!standing.account_id) return null;
  const trail = `#/admin/audit?object_type=seller_account&object_id=${encodeURIComponent(standing.account_id)}`;
  return h('p', {}, h('a', { href: trail }, 'Audit trail of this account'));
}
