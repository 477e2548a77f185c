// Seller: request a payout of an amount (or of everything available), confirmed first; the
// service's refusal, whatever its code, shown as its sentence. GET /seller/{seller_id}/balance,
// POST /payouts

import { get, pathOf, post } from '../../api.js';
import { actionForm, loaded, messageArea, money, notice, pageHeading, statusBadge } from '../../components.js';
import { h, replaceContent } from '../../dom.js';
import { formatMoney, parseMoney } from '../../format.js';
import { amountInput, formRow } from '../../forms.js';

const BALANCE = '/seller/{seller_id}/balance';

export async function render({ view, page, session }) {
  const area = messageArea();
  const available = h('p', { class: 'available' });
  view.append(pageHeading(page.title), area);
  const balance = await loaded(area, () => get(pathOf(BALANCE, { seller_id: session.user })));
  if (balance === null) return;
  const currency = balance.currency;
  showAvailable(available, balance);
  const amount = amountInput('payout-amount', 'amount', { 'aria-describedby': 'payout-amount-hint' });
  const rows = [
    formRow(amount, `Amount (${currency.toUpperCase()})`),
    h(
      'p',
      { id: 'payout-amount-hint', class: 'hint' },
      'In ',
      currency.toUpperCase(),
      ', e.g. 25.00. Leave it empty to pay out everything available.',
    ),
  ];
  const request = () => {
    const typed = amount.value.trim();
    const minor = typed === '' ? null : parseMoney(typed, currency);
    const body = { seller_id: session.user, currency };
    // What cannot be read as an amount is sent as it was typed, so the service names the problem.
    if (typed !== '') body.amount = minor ?? typed;
    const what = typed === '' ? 'everything available' : minor === null ? typed : formatMoney(minor, currency);
    return {
      confirm: {
        title: `Pay out ${what}?`,
        message: `${what[0].toUpperCase()}${what.slice(1)} goes from your Stripe balance to your bank account. Stripe says when it should arrive.`,
        confirmLabel: 'Request payout',
      },
      perform: (action) => post('/payouts', body, action),
      done: (payout) => {
        amount.value = '';
        return requestedNotice(payout);
      },
    };
  };
  view.append(
    available,
    actionForm({ area, className: 'stacked panel', rows, submitLabel: 'Request payout', request }),
    h('p', {}, h('a', { href: '#/seller/payouts' }, 'Payout history')),
  );
}

function showAvailable(element, balance) {
  replaceContent(
    element,
    balance.available === null
      ? 'Stripe has not given your available balance yet.'
      : ['Available to pay out now: ', money(balance.available, balance.currency), '.'],
    balance.held_for_disputes > 0
      ? [' Held for disputes: ', money(balance.held_for_disputes, balance.currency), '.']
      : null,
    balance.owed_to_platform > 0
      ? [' Owed to the platform, taken first: ', money(balance.owed_to_platform, balance.currency), '.']
      : null,
  );
}

function requestedNotice(payout) {
  const shown = notice(
    'success',
    `Payout of ${formatMoney(payout.amount, payout.currency)} requested.`,
    h('p', {}, 'Status: ', statusBadge(payout.status), '.'),
    h('p', {}, h('a', { href: '#/seller/payouts' }, 'Follow it in your payout history')),
  );
  shown.dataset.payout = payout.payout_id;
  return shown;
}

