// Admin console: the Stripe events the service stored, filtered by status, type and account;
// one event with its payload; replaying it (admins). GET/POST /admin/webhook-events…

import { get, parameterValues, pathOf, post } from '../../api.js';
import {
  actionButton,
  auditLink,
  choices,
  detailPage,
  fieldList,
  filteredList,
  listAndObjects,
  money,
  notice,
  objectLink,
  pageHeading,
  panel,
  statusBadge,
  time,
  withOutcome,
} from '../../components.js';
import { h } from '../../dom.js';
import { hasAnyRole } from '../../session.js';

const LIST = 'GET /admin/webhook-events';
const ONE = '/admin/webhook-events/{event_id}';
const REPLAY = '/admin/webhook-events/{event_id}/replay';

export const render = listAndObjects(renderList, renderEvent);

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
        cell: (event) => objectLink(page, event.id),
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
  await detailPage({
    view,
    page,
    back: '← All webhook events',
    title: `Webhook event ${eventId}`,
    load: () => get(pathOf(ONE, { event_id: eventId })),
    draw: eventPanels,
    // Offered to admins, who alone may replay; the service refuses anyone else all the same.
    actions: hasAnyRole(session, ['admin']) ? replayButton : null,
  });
}

function replayButton(event, { area, redraw }) {
  return actionButton({
    label: 'Replay event',
    area,
    confirm: {
      title: 'Replay this event?',
      message: `The handlers of ${event.type} run again now for ${event.id}. They are idempotent: what this event already did is not done twice.`,
      confirmLabel: 'Replay event',
    },
    perform: (action) => post(pathOf(REPLAY, { event_id: event.id }), undefined, action),
    done: (result) => {
      redraw(result.event);
      return replayNotice(result);
    },
  });
}

function eventPanels(event) {
  const normalized = event.normalized;
  return [
    panel('Event', [
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
      h('p', {}, auditLink('webhook_event', event.id, 'Audit trail of this event')),
    ]),
    panel(
      'What it is about',
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
    panel(
      'Payload as Stripe sent it',
      h('pre', { class: 'payload', tabindex: '0' }, JSON.stringify(event.payload, null, 2)),
    ),
  ];
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
  return withOutcome(notice(kind, title, error), result.outcome);
}
