// Seller: request a payout of an amount (or of everything available), confirmed first; the
// service's refusal, whatever its code, shown as its sentence. GET /seller/{seller_id}/balance,
// POST /payouts

import { ApiProblem, get, pathOf, post } from '../../api.js';
import { messageArea, money, notice, pageHeading, runAction, show, statusBadge } from '../../components.js';
import { h, replaceContent } from '../../dom.js';
import { formatMoney, parseMoney } from '../../format.js';
import { problemNotice } from '../../problems.js';

const BALANCE = '/seller/{seller_id}/balance';

export async function render({ view, page, session }) {
  const area = messageArea();
  const available = h('p', { class: 'available' });
  view.append(pageHeading(page.title), area);
  let balance;
  try {
    balance = await get(pathOf(BALANCE, { seller_id: session.user }));
  } catch (error) {
    if (!(error instanceof ApiProblem)) throw error;
    show(area, problemNotice(error));
    return;
  }
  const currency = balance.currency;
  showAvailable(available, balance);
  const amount = h('input', {
    id: 'payout-amount',
    name: 'amount',
    type: 'text',
    inputmode: 'decimal',
    autocomplete: 'off',
    'aria-describedby': 'payout-amount-hint',
  });
  const submit = h('button', { type: 'submit' }, 'Request payout');
  // novalidate: the service judges the amount and names what it refuses.
  const form = h(
    'form',
    { class: 'stacked panel', novalidate: true },
    h('div', {}, h('label', { for: amount.id }, `Amount (${currency.toUpperCase()})`), amount),
    h(
      'p',
      { id: 'payout-amount-hint', class: 'hint' },
      'In ',
      currency.toUpperCase(),
      ', e.g. 25.00. Leave it empty to pay out everything available.',
    ),
    h('div', {}, submit),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const typed = amount.value.trim();
    const minor = typed === '' ? null : parseMoney(typed, currency);
    const body = { seller_id: session.user, currency };
    // What cannot be read as an amount is sent as it was typed, so the service names the problem.
    if (typed !== '') body.amount = minor ?? typed;
    const what = typed === '' ? 'everything available' : minor === null ? typed : formatMoney(minor, currency);
    runAction({
      area,
      trigger: submit,
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
    });
  });
  view.append(available, form, h('p', {}, h('a', { href: '#/seller/payouts' }, 'Payout history')));
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

