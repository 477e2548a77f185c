// Seller: set up payments. Asks the API for a fresh link to Stripe's hosted onboarding and goes
// there; Stripe sends the seller back here (ONBOARDING_RETURN_URL: `?returned=1`), or here with
// `?link=expired` when the link had expired (ONBOARDING_REFRESH_URL).
// GET /seller/{seller_id}/onboarding-link, GET /seller/{seller_id}/stripe-status

import { get, pathOf } from '../../api.js';
import { actionButton, loaded, messageArea, notice, pageHeading, show } from '../../components.js';
import { h, replaceContent } from '../../dom.js';
import { LINK, loadStanding, standingPanels } from '../../verification.js';

// After Stripe's page, the account's news comes by webhook, usually within seconds: the page
// reads the status again meanwhile, for a while, then leaves it to the status page.
const WAIT_STEP_MS = 1500;
const WAIT_MOST_MS = 30_000;

export async function render({ view, page, session, query }) {
  const area = messageArea();
  const panels = h('div');
  const go = actionButton({
    label: 'Set up payments with Stripe',
    area,
    confirm: {
      title: 'Go to Stripe?',
      message:
        'You leave this site for Stripe’s onboarding page, where you give your identity and bank details. Stripe sends you back here afterwards.',
      confirmLabel: 'Go to Stripe',
    },
    perform: () => get(pathOf(LINK, { seller_id: session.user })),
    done: (link) => {
      location.assign(link.url);
      return notice('success', 'Taking you to Stripe…');
    },
  });
  view.append(
    pageHeading(page.title),
    h(
      'p',
      {},
      'Stripe, our payments partner, checks who you are and where to pay you. It does so on its own ',
      'page: you leave this site for a few minutes and come back here when you are done.',
    ),
    area,
    h('div', { class: 'actions panel' }, go),
    panels,
  );

  if (query.get('link') === 'expired') {
    show(
      area,
      notice(
        'warning',
        'That link to Stripe had expired or was already used.',
        'Links to Stripe work once and for a few minutes. Continue with a fresh one.',
      ),
    );
  }
  const standing = await showStanding(panels, area, session.user);
  if (standing === null) return;
  go.textContent = standing.status === 'not_started' ? 'Set up payments with Stripe' : 'Continue with Stripe';
  if (query.get('returned') === '1') welcomeBack(panels, area, session.user, standing);
}

async function showStanding(panels, area, sellerId) {
  const standing = await loaded(area, () => loadStanding(sellerId));
  if (standing !== null) replaceContent(panels, standingPanels(standing));
  return standing;
}

// Back from Stripe. News Stripe already sent is shown with the page (whose heading takes the
// focus); while the service has not heard yet (`onboarding`), the page looks again, then focuses
// the outcome.
function welcomeBack(panels, area, sellerId, standing) {
  if (standing.status !== 'onboarding') {
    replaceContent(area, welcome(standing));
    return;
  }
  const waiting = 'Waiting for Stripe to confirm your details…';
  replaceContent(area, h('p', { class: 'muted', role: 'status' }, waiting));
  waitForStripe(panels, area, sellerId);
}

async function waitForStripe(panels, area, sellerId) {
  const waitUntil = Date.now() + WAIT_MOST_MS;
  let standing;
  do {
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
    if (!panels.isConnected) return; // the seller moved on
    standing = await showStanding(panels, area, sellerId);
    if (standing === null) return;
  } while (standing.status === 'onboarding' && Date.now() < waitUntil);
  if (standing.status !== 'onboarding') {
    show(area, welcome(standing));
    return;
  }
  show(
    area,
    notice(
      'warning',
      'Stripe has not confirmed your details yet.',
      'It can take a few minutes. ',
      h('a', { href: '#/seller/status' }, 'See your verification status'),
    ),
  );
}

function welcome(standing) {
  const status = standing.status.replace(/_/g, ' ');
  return notice('success', `Welcome back. Your status: ${status}.`, standing.next_step);
}
