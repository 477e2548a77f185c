// Seller: verification status, with its progress, what is still due and the next step, and a
// check with Stripe for when its news is late.
// GET /seller/{seller_id}/stripe-status, POST /seller/{seller_id}/stripe-status/refresh

import { loaded, messageArea, notice, pageHeading } from '../../components.js';
import { h, replaceContent } from '../../dom.js';
import { checkWithStripeButton, loadStanding, standingPanels } from '../../verification.js';

export async function render({ view, page, session }) {
  const area = messageArea();
  const panels = h('div');
  const check = checkWithStripeButton({
    sellerId: session.user,
    area,
    message:
      'Your status is kept up to date by Stripe’s messages. If one is late, this reads your account from Stripe now. Nothing on your account changes.',
    done: (standing) => {
      showStanding(panels, standing);
      return notice('success', `Checked with Stripe: your status is ${standing.status.replace(/_/g, ' ')}.`);
    },
  });
  view.append(pageHeading(page.title), area, h('div', { class: 'actions panel' }, check), panels);
  const standing = await loaded(area, () => loadStanding(session.user));
  if (standing !== null) showStanding(panels, standing);
}

function showStanding(panels, standing) {
  replaceContent(
    panels,
    standing.status === 'not_started'
      ? h(
          'p',
          { class: 'panel' },
          'You have not set up payments yet. ',
          h('a', { href: '#/seller/setup' }, 'Set up payments'),
        )
      : null,
    standingPanels(standing),
  );
}
