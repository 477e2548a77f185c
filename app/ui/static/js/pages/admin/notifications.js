// Admin console: the admins' notifications (new disputes and chargebacks), unread first by
// default, each linking to what it is about, and marking one read (admins).
// GET /admin/notifications, POST /admin/notifications/{notification_id}/read

import { pathOf, post, get } from '../../api.js';
import { actionButton, filteredList, messageArea, notice, pageHeading, statusBadge, time } from '../../components.js';
import { h } from '../../dom.js';
import { hasAnyRole } from '../../session.js';

const READ = '/admin/notifications/{notification_id}/read';
const ANY = 'any';

export async function render({ view, page, session, query, setQuery }) {
  const area = messageArea();
  const canMark = hasAnyRole(session, ['admin']); // the service refuses anyone else anyway
  const list = filteredList({
    query,
    setQuery,
    defaults: { unread: 'true' },
    submitLabel: 'Show notifications',
    fields: [
      {
        name: 'unread',
        label: 'Show',
        options: [
          ['true', 'Unread'],
          ['false', 'Read'],
          [ANY, 'All'],
        ],
      },
    ],
    load: ({ unread }, startingAfter) =>
      get('/admin/notifications', { unread: unread === ANY ? null : unread, starting_after: startingAfter }),
    cursorOf: (item) => item.notification_id,
    caption: 'Notifications, newest first',
    emptyText: 'No notification here.',
    columns: [
      { label: 'When', cell: (item) => time(item.created_at) },
      { label: 'What', cell: (item) => item.title },
      { label: 'About', cell: subject },
      { label: 'Read', cell: (item) => (item.read ? ['by ', item.read_by ?? '?', ', ', time(item.read_at)] : 'not yet') },
      { label: 'Sent out', cell: (item) => (item.delivery ? statusBadge(item.delivery) : '—') },
      ...(canMark ? [{ label: 'Action', cell: (item) => (item.read ? '—' : markReadButton(item, area, () => list.reload())) }] : []),
    ],
  });
  view.append(pageHeading(page.title), area, list);
  await list.reload();
}

function subject(item) {
  const text = `${item.subject_type} ${item.subject_id}`;
  if (item.subject_type !== 'dispute') return h('span', { class: 'mono' }, text);
  return h('a', { class: 'mono', href: `#/admin/disputes/${encodeURIComponent(item.subject_id)}` }, text);
}

function markReadButton(item, area, reload) {
  return actionButton({
    label: 'Mark read',
    secondary: true,
    area,
    confirm: {
      title: 'Mark this notification read?',
      message: `“${item.title}” is marked read by you, for every admin.`,
      confirmLabel: 'Mark read',
    },
    perform: (action) => post(pathOf(READ, { notification_id: item.notification_id }), undefined, action),
    done: (read) => {
      reload();
      return notice('success', `Marked read: ${read.title}.`);
    },
  });
}
