// Admin console: the audit log searched by actor, action and object. GET /admin/audit

import { get } from '../../api.js';
import { filteredList, pageHeading, time } from '../../components.js';
import { h } from '../../dom.js';

export async function render({ view, page, query, setQuery }) {
  const list = filteredList({
    query,
    setQuery,
    submitLabel: 'Search',
    fields: [
      { name: 'actor', label: 'Who', hint: 'a user id, a job or a Stripe event id' },
      { name: 'action', label: 'Action', hint: 'e.g. webhook_event.replayed' },
      { name: 'object_type', label: 'Object type', hint: 'e.g. topup' },
      { name: 'object_id', label: 'Object id' },
    ],
    load: (filters, startingAfter) => get('/admin/audit', { ...filters, starting_after: startingAfter }),
    cursorOf: (record) => record.id,
    caption: 'Audit records, newest first',
    emptyText: 'No audit record matches this search.',
    columns: [
      { label: 'No.', cell: (record) => String(record.seq) },
      { label: 'When', cell: (record) => time(record.at) },
      { label: 'Who', cell: (record) => `${record.actor.id} (${record.actor.kind})` },
      { label: 'Action', cell: (record) => record.action },
      {
        label: 'Object',
        cell: (record) => h('span', { class: 'mono' }, `${record.object.type} ${record.object.id}`),
      },
      { label: 'Change', cell: (record) => change(record) },
      {
        label: 'Request',
        cell: (record) => (record.request_id ? h('span', { class: 'mono' }, record.request_id) : '—'),
      },
    ],
  });
  view.append(pageHeading(page.title), list);
  await list.reload();
}

function change(record) {
  if (record.before === null && record.after === null) return '—';
  return h('code', {}, `${JSON.stringify(record.before)} → ${JSON.stringify(record.after)}`);
}
