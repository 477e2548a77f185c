// Admin console: sellers with a connected account and their verification status, filtered by
// status or found by seller or account id; one seller's status in full, and (admins) a check
// with Stripe. GET /admin/sellers, GET/POST /seller/{seller_id}/stripe-status…

import { get, parameterValues } from '../../api.js';
import {
  auditLink,
  choices,
  detailPage,
  filteredList,
  listAndObjects,
  notice,
  objectLink,
  pageHeading,
  statusBadge,
  time,
} from '../../components.js';
import { h } from '../../dom.js';
import { hasAnyRole } from '../../session.js';
import { checkWithStripeButton, loadStanding, standingPanels } from '../../verification.js';

const LIST = 'GET /admin/sellers';

export const render = listAndObjects(renderList, renderSeller);

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
            : objectLink(page, seller.seller_id, null),
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
  await detailPage({
    view,
    page,
    back: '← All sellers',
    title: `Seller ${sellerId}`,
    load: () => loadStanding(sellerId),
    draw: (standing) => [standingPanels(standing), auditTrail(standing)],
    // Support reads; the service refuses them a refresh anyway.
    actions: hasAnyRole(session, ['admin']) ? (standing, context) => checkButton(sellerId, context) : null,
  });
}

function checkButton(sellerId, { area, redraw }) {
  return checkWithStripeButton({
    sellerId,
    area,
    message: `The service reads ${sellerId}’s account from Stripe now and stores what it finds (audited as yours).`,
    done: (fresh) => {
      redraw(fresh);
      return notice('success', `Checked with Stripe: the status is ${fresh.status.replace(/_/g, ' ')}.`);
    },
  });
}

function auditTrail(standing) {
  if (!standing.account_id) return null;
  return h('p', {}, auditLink('seller_account', standing.account_id, 'Audit trail of this account'));
}
