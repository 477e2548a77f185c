// The pieces every page is made of: headings, panels, notices, the page of one object, the
// confirmation dialog and the actions it guards, tables, filter forms and the "Load more" list.

import { ApiProblem, newAction } from './api.js';
import { append, h, replaceContent } from './dom.js';
import { formatDate, formatMoney } from './format.js';
import { formRow, selectControl, textInput } from './forms.js';
import { problemNotice } from './problems.js';

let nextId = 0;
function uniqueId(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** The page's title; the shell moves focus to it when the page opens. */
export function pageHeading(text) {
  return h('h1', { tabindex: '-1' }, text);
}

/** Where a page reports what happened; `show` replaces what it said before and focuses it. */
export function messageArea() {
  return h('div', { class: 'messages' });
}

export function show(area, notice) {
  replaceContent(area, notice);
  notice.focus();
}

/** A success or warning notice: `kind` is "success" or "warning". */
export function notice(kind, title, ...lines) {
  return h(
    'div',
    { class: `notice ${kind}`, role: 'status', tabindex: '-1' },
    h('p', { class: 'notice-title' }, title),
    lines.filter(Boolean).map((line) => (line instanceof Node ? line : h('p', {}, line))),
  );
}

export function statusBadge(status) {
  return h('span', { class: `status status-${status}` }, String(status).replace(/_/g, ' '));
}

export function money(amount, currency) {
  return h('span', { class: 'money' }, formatMoney(amount, currency));
}

/** A time in the viewer's locale, the exact ISO time as its tooltip; "—" when there is none. */
export function time(iso) {
  if (!iso) return '—';
  return h('time', { datetime: iso, title: iso }, formatDate(iso));
}

/** A definition list of `[label, value]` pairs; pairs whose value is null or undefined are left out. */
export function fieldList(pairs) {
  return h(
    'dl',
    { class: 'fields' },
    pairs
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]),
  );
}

/**
 * A panel: a section under the heading `title`. With `headingId` the heading names the section,
 * which makes it a region a screen reader lists; other `attributes` go on the section.
 */
export function panel(title, content, { headingId = null, ...attributes } = {}) {
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': headingId, ...attributes },
    h('h2', { id: headingId }, title),
    content,
  );
}

/** A link to the page of one object of the list `page` shows (`#<page>/<id>`), named by its id. */
export function objectLink(page, id, className = 'mono') {
  return h('a', { href: `#${page.path}/${encodeURIComponent(id)}`, class: className }, id);
}

/** A link to the audit log searched for one object's records. */
export function auditLink(objectType, objectId, text) {
  const search = `object_type=${encodeURIComponent(objectType)}&object_id=${encodeURIComponent(objectId)}`;
  return h('a', { href: `#/admin/audit?${search}` }, text);
}

/**
 * Asks before an action. Resolves true when the user confirms, false on "Cancel" or Escape;
 * focus starts on "Cancel" and returns to where it was.
 */
export function confirmDialog({ title, message, confirmLabel }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = uniqueId('confirm-title');
    const messageId = uniqueId('confirm-message');
    const cancel = h(
      'button',
      { type: 'button', class: 'secondary', onClick: () => dialog.close('cancel') },
      'Cancel',
    );
    const dialog = h(
      'dialog',
      { 'aria-labelledby': titleId, 'aria-describedby': messageId },
      h('h2', { id: titleId }, title),
      h('p', { id: messageId }, message),
      h(
        'div',
        { class: 'actions' },
        cancel,
        h('button', { type: 'button', onClick: () => dialog.close('confirm') }, confirmLabel),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener instanceof HTMLElement) opener.focus();
      resolve(dialog.returnValue === 'confirm');
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/**
 * One user action, end to end: confirm, then `perform(action)` with `trigger` disabled, then the
 * notice `done(result)` builds, or the problem. A failure that may pass offers "Try again", which
 * repeats the same action (the same Idempotency-Key), so it never happens twice.
 */
export async function runAction({ area, trigger, confirm, perform, done }) {
  if (!(await confirmDialog(confirm))) return;
  const action = newAction();
  const attempt = async () => {
    trigger.disabled = true;
    replaceContent(area, h('p', { class: 'muted', role: 'status' }, 'Working…'));
    try {
      show(area, done(await perform(action)));
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      show(area, problemNotice(error, { retry: error.retryable ? attempt : undefined }));
    } finally {
      trigger.disabled = false;
    }
  };
  await attempt();
}

/** A button that runs one confirmed action (`runAction`: area, confirm, perform, done) itself. */
export function actionButton({ label, secondary = false, ...action }) {
  const button = h('button', { type: 'button', class: secondary ? 'secondary' : null }, label);
  button.addEventListener('click', () => runAction({ ...action, trigger: button }));
  return button;
}

/**
 * A form whose submission is one confirmed action (`runAction`), its submit button the trigger:
 * `request()` reads the form into the action's `{confirm, perform, done}`, or answers null when
 * there is nothing to do. Without `submitLabel` it has no button (a form to read, not to send).
 * novalidate: the service judges what was typed and names what it refuses.
 */
export function actionForm({ area, className, rows, submitLabel = null, request }) {
  const submit = submitLabel && h('button', { type: 'submit' }, submitLabel);
  const form = h('form', { class: className, novalidate: true }, rows, submit && h('div', {}, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const action = submit && request();
    if (action) runAction({ area, trigger: submit, ...action });
  });
  return form;
}

/**
 * The "Resolve" panel of an object an admin decides on: the decision's `rows`, then the note
 * (`noteHint` says where it is kept); `request(note)` reads the decision, with the note typed,
 * into the action, as for `actionForm`.
 */
export function resolvePanel({ area, rows, noteHint, submitLabel, request }) {
  const note = h('textarea', { id: 'resolve-note', name: 'note', rows: '3' });
  const form = actionForm({
    area,
    className: 'stacked',
    rows: [rows, formRow(note, 'Note', noteHint)],
    submitLabel,
    request: () => request(note.value.trim()),
  });
  return panel('Resolve', form, { headingId: 'resolve-heading' });
}

/** `shown` marked with the outcome it reports (`data-outcome`). */
export function withOutcome(shown, outcome) {
  shown.dataset.outcome = outcome;
  return shown;
}

/** What `load()` answers, or null when the service refuses: its problem is shown in `area`. */
export async function loaded(area, load) {
  try {
    return await load();
  } catch (error) {
    if (!(error instanceof ApiProblem)) throw error;
    show(area, problemNotice(error));
    return null;
  }
}

/**
 * The `render` of a page that lists objects and opens each: `#<page>` renders `list(context)`,
 * `#<page>/<id>` renders `one(context, id)`.
 */
export function listAndObjects(list, one) {
  return (context) => {
    const [id] = context.segments;
    return id === undefined ? list(context) : one(context, id);
  };
}

/**
 * The page of one object: a link `back` to the list of `page`, the heading `title` (the shell
 * focuses it), the message area where actions report, then what `draw(object, context)` makes of
 * the object `load()` fetches. `context` is `{area, redraw}`: `redraw(newer)` draws the object
 * again as an action left it. `actions(object, context)`, when given, is what is offered above the
 * object, drawn once. When the service refuses the object, its problem is shown instead and this
 * resolves to null; otherwise to `{object, details, area, redraw}` (`details` holds the drawing).
 */
export async function detailPage({ view, page, back, title, load, draw, actions = null }) {
  const area = messageArea();
  const details = h('div');
  view.append(h('p', {}, h('a', { href: `#${page.path}` }, back)), pageHeading(title), area, details);
  const object = await loaded(area, load);
  if (object === null) return null;
  const context = { area, redraw: (newer) => replaceContent(details, draw(newer, context)) };
  context.redraw(object);
  if (actions) details.before(h('div', { class: 'actions panel' }, actions(object, context)));
  return { object, details, ...context };
}

/**
 * Figures read again on demand: `figures` shows what `draw(answer)` makes of `load()`'s answer
 * and the `refresh` button reads again; a refusal is shown in `area`, with "Try again".
 * Returns `{figures, refresh, reload}`; `reload()` reads.
 */
export function refreshedFigures({ area, load, draw }) {
  const figures = h('div');
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  const reload = async () => {
    refresh.disabled = true;
    try {
      replaceContent(figures, draw(await load()));
      area.replaceChildren();
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      show(area, problemNotice(error, { retry: reload }));
    } finally {
      refresh.disabled = false;
    }
  };
  refresh.addEventListener('click', reload);
  return { figures, refresh, reload };
}

/**
 * A form of filters: `fields` are `{name, label, options?, hint?}` (a select when it has
 * `options`, `[value, text]` pairs), filled from `values`; `onSubmit` gets the non-empty values.
 */
export function filterForm({ fields, values, submitLabel, onSubmit }) {
  const form = h(
    'form',
    { class: 'filters panel', role: 'search' },
    fields.map((field) => filterField(field, values[field.name] ?? '')),
    h('div', {}, h('button', { type: 'submit' }, submitLabel)),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = {};
    for (const [name, value] of new FormData(form)) {
      if (String(value).trim() !== '') chosen[name] = String(value).trim();
    }
    onSubmit(chosen);
  });
  return form;
}

function filterField({ name, label, options, hint }, value) {
  const id = uniqueId(`filter-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const control = options
    ? selectControl(id, name, options, value)
    : textInput(id, name, { value, 'aria-describedby': hintId });
  return formRow(control, label, hint, hintId);
}

/**
 * A cursor-paginated list (`{data, has_more}` pages) as a table with "Load more":
 * `load(startingAfter)` fetches a page, `cursorOf(row)` is what the next page starts after.
 * Returns the element; `reload()` starts again from the first page.
 */
export function pagedTable({ caption, columns, load, cursorOf, emptyText }) {
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'data', hidden: true },
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map((column) => h('th', { scope: 'col' }, column.label)),
      ),
    ),
    body,
  );
  const status = h('p', { class: 'muted', role: 'status' });
  const problems = h('div');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const element = h(
    'section',
    { 'aria-busy': 'false' },
    problems,
    table,
    h('div', { class: 'pager' }, more, status),
  );
  let cursor = null;
  let shown = 0;
  // Each reload starts a new generation; an answer for an older one (a search sent before the
  // current one) is dropped, so rows of two searches never mix.
  let generation = 0;

  const loadPage = async () => {
    const mine = generation;
    more.disabled = true;
    element.setAttribute('aria-busy', 'true');
    status.textContent = 'Loading…';
    let page;
    try {
      page = await load(cursor);
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      if (mine !== generation) return;
      status.textContent = '';
      show(problems, problemNotice(error, { retry: () => loadPage() }));
      return;
    } finally {
      if (mine === generation) {
        more.disabled = false;
        element.setAttribute('aria-busy', 'false');
      }
    }
    if (mine !== generation) return;
    problems.replaceChildren();
    for (const row of page.data) {
      body.append(
        h(
          'tr',
          {},
          columns.map((column) => append(h('td', { 'data-label': column.label }), column.cell(row))),
        ),
      );
    }
    shown += page.data.length;
    if (page.data.length > 0) cursor = cursorOf(page.data[page.data.length - 1]);
    more.hidden = !page.has_more;
    table.hidden = shown === 0;
    status.textContent = shown === 0 ? emptyText : `${shown} shown${page.has_more ? '' : ', the whole list'}.`;
  };
  more.addEventListener('click', loadPage);

  element.reload = () => {
    generation += 1;
    body.replaceChildren();
    problems.replaceChildren();
    table.hidden = true;
    cursor = null;
    shown = 0;
    more.hidden = true;
    return loadPage();
  };
  return element;
}

/**
 * A searchable list: a filterForm over a pagedTable. The filters start from the address's query
 * (over `defaults`); a search records them in the address and reloads the table in place.
 * `load(filters, startingAfter)` fetches a page. Returns the element; `reload()` fetches again.
 */
export function filteredList({ query, setQuery, defaults = {}, fields, submitLabel, load, ...table }) {
  let filters = { ...defaults, ...Object.fromEntries(query) };
  const list = pagedTable({ ...table, load: (startingAfter) => load(filters, startingAfter) });
  const form = filterForm({
    fields,
    values: filters,
    submitLabel,
    onSubmit(chosen) {
      filters = chosen;
      setQuery(chosen);
      list.reload();
    },
  });
  const element = h('div', {}, form, list);
  element.reload = () => list.reload();
  return element;
}

/** `[value, text]` options of a select: "any" (`anyValue`) first, then each value the API takes. */
export function choices(values, anyText, anyValue = '') {
  return [[anyValue, anyText], ...values.map((value) => [value, String(value).replace(/_/g, ' ')])];
}
