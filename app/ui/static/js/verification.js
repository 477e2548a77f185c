// A seller's verification as GET /seller/{seller_id}/stripe-status describes it, shown the same
// way to the seller and to the admin console: the status with its progress and next step, what
// Stripe still asks for, and the account's details. Every word of judgement is the API's.

import { get, pathOf, post } from './api.js';
import { actionButton, fieldList, panel, statusBadge, time } from './components.js';
import { h } from './dom.js';

export const STATUS = '/seller/{seller_id}/stripe-status';
const REFRESH = '/seller/{seller_id}/stripe-status/refresh';
export const LINK = '/seller/{seller_id}/onboarding-link';

export function loadStanding(sellerId) {
  return get(pathOf(STATUS, { seller_id: sellerId }));
}

/**
 * "Check with Stripe now": the service reads the seller's account from Stripe and stores it,
 * once confirmed (`message` says what happens); `done(standing)` shows the fresh standing and
 * answers the notice reporting it.
 */
export function checkWithStripeButton({ sellerId, area, message, done }) {
  return actionButton({
    label: 'Check with Stripe now',
    secondary: true,
    area,
    confirm: { title: 'Check with Stripe now?', message, confirmLabel: 'Check now' },
    perform: (action) => post(pathOf(REFRESH, { seller_id: sellerId }), undefined, action),
    done,
  });
}

/** The panels describing `standing`: status and next step, what is due, the Stripe account. */
export function standingPanels(standing) {
  return [statusPanel(standing), duePanel(standing), accountPanel(standing)];
}

function statusPanel(standing) {
  return panel(
    'Status',
    fieldList([
      ['Status', statusBadge(standing.status)],
      ['Why', standing.status_reason],
      ['Progress', progressBar(standing.progress)],
      ['Next step', h('strong', { class: 'next-step' }, standing.next_step)],
      ['Can receive payments', yesNo(standing.can_receive_transfers)],
      ['Last read from Stripe', standing.updated_at ? time(standing.updated_at) : null],
    ]),
    { 'data-status': standing.status },
  );
}

function progressBar(progress) {
  return h(
    'span',
    { class: 'progress-field' },
    h('progress', {
      class: 'progress',
      max: '100',
      value: String(progress),
      'aria-label': 'Verification progress',
    }),
    h('span', {}, `${progress}%`),
  );
}

// Stripe's requirement lists, most urgent first.
const DUE_LISTS = [
  ['past_due', 'Past due: payments stay paused until these are provided'],
  ['currently_due', 'Due now'],
  ['pending_verification', 'Provided, being checked by Stripe'],
  ['eventually_due', 'Due later'],
];

function duePanel(standing) {
  const lists = DUE_LISTS.filter(([name]) => standing[name].length > 0);
  return panel(
    'What is still due',
    lists.length === 0
      ? h('p', {}, 'Nothing: Stripe asks for nothing more.')
      : lists.map(([name, title]) => requirementList(standing, name, title)),
    { headingId: 'due-heading' },
  );
}

function requirementList(standing, name, title) {
  const deadline =
    name === 'currently_due' && standing.current_deadline
      ? h('p', { class: 'muted' }, 'By ', time(standing.current_deadline))
      : null;
  return h(
    'div',
    { class: 'requirements', 'data-requirements': name },
    h('h3', {}, title),
    deadline,
    h(
      'ul',
      {},
      standing[name].map((field) =>
        h('li', {}, readable(field), ' ', h('code', { class: 'muted' }, field)),
      ),
    ),
  );
}

// `individual.verification.document` → "individual verification document".
function readable(field) {
  return field.replace(/[._]/g, ' ');
}

function accountPanel(standing) {
  if (!standing.account_id) return null;
  const capabilities = Object.entries(standing.capabilities);
  return panel(
    'Stripe account',
    fieldList([
      ['Account', h('span', { class: 'mono' }, standing.account_id)],
      ['Details submitted', yesNo(standing.details_submitted)],
      ['Charges enabled', yesNo(standing.charges_enabled)],
      ['Payouts enabled', yesNo(standing.payouts_enabled)],
      [
        'Capabilities',
        capabilities.length === 0
          ? 'none'
          : h(
              'ul',
              { class: 'plain' },
              capabilities.map(([name, status]) => h('li', {}, `${name}: `, statusBadge(status))),
            ),
      ],
      // Stripe's own reason, when it says more than the status's `Why` above.
      ['Disabled because', standing.disabled_reason === standing.status_reason ? null : standing.disabled_reason],
    ]),
  );
}

function yesNo(value) {
  return value ? 'Yes' : 'No';
}
