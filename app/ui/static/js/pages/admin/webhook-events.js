// Admin console: the Stripe events the service stored, filtered by status, type and account;
// one event with its payload; replaying it (admins). GET/POST /admin/webhook-events…

import { ApiProblem, get, parameterValues, pathOf, post } from '../../api.js';
import {
  choices,
  fieldList,
  filteredList,
  messageArea,
  money,
  notice,
  pageHeading,
  runAction,
  statusBadge,
  time,
} from '../../components.js';
import { h, replaceContent } from '../../dom.js';
import { problemNotice } from '../../problems.js';
import { hasAnyRole } from '../../session.js';

const LIST = 'GET /admin/webhook-events';
const ONE = '/admin/webhook-events/{event_id}';
const REPLAY = '/admin/webhook-events/{event_id}/replay';

export function render(context) {
  const [eventId] = context.segments;
  return eventId === undefined ? renderList(context) : renderEvent(context, eventId);
}

async function renderList({ view, page, query, setQuery }) {
  const statuses = await parameterValues(LIST, 'status');
  const list = filteredList({
    query,
    setQuery,
    submitLabel: 'Show events',
    fields: [
      { name: 'status', label: 'Status', options: choices(statuses, 'Any status') },
      { name: 'type', label: 'Event type', hint: 'e.g. payment_intent.succeeded' },
      { name: 'account', label: 'Connected account', hint: 'acct_…' },
    ],
    load: (filters, startingAfter) =>
      get('/admin/webhook-events', { ...filters, starting_after: startingAfter }),
    cursorOf: (event) => event.id,
    caption: 'Events, newest first',
    emptyText: 'No event matches these filters.',
    columns: [
      {
        label: 'Event',
        cell: (event) =>
          h('a', { href: `#${page.path}/${encodeURIComponent(event.id)}`, class: 'mono' }, event.id),
      },
      { label: 'Type', cell: (event) => event.type },
      { label: 'Account', cell: (event) => event.account ?? 'platform' },
      { label: 'Status', cell: (event) => statusBadge(event.status) },
      { label: 'Attempts', cell: (event) => String(event.attempts) },
      { label: 'Received', cell: (event) => time(event.received_at) },
      { label: 'Last error', cell: (event) => event.last_error ?? '—' },
    ],
  });
  view.append(pageHeading(page.title), list);
  await list.reload();
}

async function renderEvent({ view, page, session }, eventId) {
  const area = messageArea();
  const details = h('div');
  view.append(
    h('p', {}, h('a', { href: `#${page.path}` }, '← All webhook events')),
    pageHeading(`Webhook event ${eventId}`),
    area,
    details,
  );
  let event;
  try {
    event = await get(pathOf(ONE, { event_id: eventId }));
  } catch (error) {
    if (!(error instanceof ApiProblem)) throw error;
    area.append(problemNotice(error));
    return;
  }
  showEvent(details, event, page);
  if (hasAnyRole(session, ['admin'])) {
    // Offered to admins, who alone may replay; the service refuses anyone else all the same.
    const replay = h('button', { type: 'button' }, 'Replay event');
    replay.addEventListener('click', () =>
      runAction({
        area,
        trigger: replay,
        confirm: {
          title: 'Replay this event?',
          message: `The handlers of ${event.type} run again now for ${event.id}. They are idempotent: what this event already did is not done twice.`,
          confirmLabel: 'Replay event',
        },
        perform: (action) => post(pathOf(REPLAY, { event_id: eventId }), undefined, action),
        done: (result) => {
          event = result.event;
          showEvent(details, event, page);
          return replayNotice(result);
        },
      }),
    );
    view.insertBefore(h('div', { class: 'actions panel' }, replay), details);
  }
}

function showEvent(details, event, page) {
  const normalized = event.normalized;
  replaceContent(
    details,
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Event'),
      fieldList([
        ['Type', event.type],
        ['Status', statusBadge(event.status)],
        ['Attempts', String(event.attempts)],
        ['Last error', event.last_error],
        ['Account', event.account ?? 'platform'],
        ['Endpoint', event.endpoint],
        ['Mode', event.livemode ? 'live' : 'test'],
        ['Created at Stripe', time(event.created)],
        ['Received', time(event.received_at)],
        ['Next attempt', event.next_attempt_at ? time(event.next_attempt_at) : null],
        ['Processed', event.processed_at ? time(event.processed_at) : null],
        ['Claimed by', event.claimed_by],
      ]),
      h(
        'p',
        {},
        h(
          'a',
          { href: `#/admin/audit?object_type=webhook_event&object_id=${encodeURIComponent(event.id)}` },
          'Audit trail of this event',
        ),
      ),
    ),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'What it is about'),
      fieldList([
        [
          'Object',
          normalized.object_type ? `${normalized.object_type} ${normalized.object_id ?? ''}`.trim() : null,
        ],
        [
          'Amount',
          Number.isInteger(normalized.amount) && normalized.currency
            ? money(normalized.amount, normalized.currency)
            : null,
        ],
        ...Object.entries(normalized.refs ?? {}).map(([name, value]) => [name, value]),
      ]),
    ),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Payload as Stripe sent it'),
      h('pre', { class: 'payload', tabindex: '0' }, JSON.stringify(event.payload, null, 2)),
    ),
  );
}

// What a replay came to, for a person: the call succeeded, but the handlers may have failed again.
const OUTCOMES = {
  processed: ['success', 'Replayed: the event was processed.'],
  ignored: ['success', 'Replayed: no handler takes this type of event, so it is ignored.'],
  retry_scheduled: ['warning', 'Replayed, but a handler failed again; another attempt is scheduled.'],
  dead_lettered: ['warning', 'Replayed, but a handler failed again; the event stays a dead letter.'],
  claim_lost: ['warning', 'A worker took the event over during the replay; its status below is the latest.'],
};

function replayNotice(result) {
  const [kind, title] = OUTCOMES[result.outcome] ?? ['warning', `Replayed: ${result.outcome}.`];
  const error =
    result.event.last_error && kind === 'warning' ? `Last error: ${result.event.last_error}` : null;
  const shown = notice(kind, title, error);
  shown.dataset.outcome = result.outcome;
  return shown;
}
