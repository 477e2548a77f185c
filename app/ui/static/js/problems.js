// Problem documents as a person reads them: a sentence per code (problem-messages.json, one for
// every code the pages' operations can answer), the service's `detail`, the fields a validation
// error names, and the request id to quote to support.

import { h } from './dom.js';

// Problems made in the browser, when there is no answer to read.
const BROWSER_MESSAGES = {
  network_error: 'The service could not be reached. Check your connection and try again.',
  unexpected_answer: 'The service answered in an unexpected way. Try again in a moment.',
};

let messages = {};

export async function loadProblemMessages() {
  const response = await fetch('problem-messages.json', { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`problem-messages.json answered ${response.status}`);
  messages = await response.json();
}

/** The sentence for a problem's code, or the service's own title for a code it has none for. */
export function sentenceFor(problem) {
  return messages[problem.code] ?? BROWSER_MESSAGES[problem.code] ?? problem.title ?? 'Something went wrong.';
}

/**
 * An alert describing `apiProblem` (an ApiProblem). `retry`, when given, is offered as a
 * "Try again" button; a refused token also offers to sign in again.
 */
export function problemNotice(apiProblem, { retry } = {}) {
  const problem = apiProblem.problem;
  const actions = [];
  if (retry) actions.push(h('button', { type: 'button', onClick: retry }, 'Try again'));
  if (problem.status === 401) actions.push(h('a', { class: 'button', href: '#/sign-in' }, 'Sign in again'));
  const detail = problem.detail && problem.detail !== sentenceFor(problem) ? problem.detail : null;
  return h(
    'div',
    { class: 'notice error', role: 'alert', tabindex: '-1', 'data-code': problem.code },
    h('p', { class: 'notice-title' }, sentenceFor(problem)),
    detail && h('p', { class: 'notice-detail' }, detail),
    fieldErrors(problem.errors),
    h('p', { class: 'meta' }, metaLine(problem, apiProblem.requestId)),
    actions.length > 0 && h('div', { class: 'actions' }, actions),
  );
}

function fieldErrors(errors) {
  if (!Array.isArray(errors) || errors.length === 0) return null;
  return h(
    'ul',
    {},
    errors.map((error) =>
      h('li', {}, `${(error.loc ?? []).filter((part) => part !== 'body').join('.')}: ${error.msg}`),
    ),
  );
}

function metaLine(problem, requestId) {
  const parts = [problem.status ? `${problem.status} ${problem.code}` : problem.code];
  if (requestId) parts.push(`request id ${requestId}`);
  return parts.join(' · ');
}
