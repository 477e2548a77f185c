// The pieces every page is made of: headings, notices, the confirmation dialog and the action
// runner, tables, filter forms and the "Load more" list.

import { ApiProblem, newAction } from './api.js';
import { append, h, replaceContent } from './dom.js';
import { formatDate, formatMoney } from './format.js';
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
    ? h(
        'select',
        { id, name },
        options.map(([optionValue, text]) =>
          h('option', { value: optionValue, selected: optionValue === value }, text),
        ),
      )
    : h('input', {
        id,
        name,
        type: 'text',
        value,
        autocomplete: 'off',
        spellcheck: 'false',
        'aria-describedby': hintId,
      });
  return h(
    'div',
    {},
    h('label', { for: id }, label, hintId && h('span', { class: 'hint', id: hintId }, ` ${hint}`)),
    control,
  );
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
