// Seller: verification status, with its progress, what is still due and the next step, and a
// check with Stripe for when its news is late.
// GET /seller/{seller_id}/stripe-status, POST /seller/{seller_id}/stripe-status/refresh

import { ApiProblem, pathOf, post } from '../../api.js';
import { messageArea, notice, pageHeading, runAction, show } from '../../components.js';
import { h, replaceContent } from '../../dom.js';
import { problemNotice } from '../../problems.js';
import { REFRESH, loadStanding, standingPanels } from '../../verification.js';

export async function render({ view, page, session }) {
  const area = messageArea();
  const panels = h('div');
  const check = h('button', { type: 'button', class: 'secondary' }, 'Check with Stripe now');
  view.append(pageHeading(page.title), area, h('div', { class: 'actions panel' }, check), panels);
  check.addEventListener('click', () =>
    runAction({
      area,
      trigger: check,
      confirm: {
        title: 'Check with Stripe now?',
        message:
          'Your status is kept up to date by Stripe’s messages. If one is late, this reads your account from Stripe now. Nothing on your account changes.',
        confirmLabel: 'Check now',
      },
      perform: (action) => post(pathOf(REFRESH, { seller_id: session.user }), undefined, action),
      done: (standing) => {
        showStanding(panels, standing);
        return notice('success', `Checked with Stripe: your status is ${standing.status.replace(/_/g, ' ')}.`);
      },
    }),
  );
  try {
    showStanding(panels, await loadStanding(session.user));
  } catch (error) {
    if (!(error instanceof ApiProblem)) throw error;
    show(area, problemNotice(error));
  }
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
