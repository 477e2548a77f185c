// The controls of the pages' forms, each with its label: one-line text, amounts, selects, and the
// rows that put a label (and its hint) over a control.

import { h } from './dom.js';

/** A one-line text box for ids and names: no autocompletion, no spelling check. */
export function textInput(id, name, attributes = {}) {
  return h('input', { id, name, type: 'text', autocomplete: 'off', spellcheck: 'false', ...attributes });
}

/** A box for an amount in major units ("16.20"): phones offer their decimal keypad. */
export function amountInput(id, name, attributes = {}) {
  return h('input', { id, name, type: 'text', inputmode: 'decimal', autocomplete: 'off', ...attributes });
}

/** A select of `[value, text]` options, `selected` chosen. */
export function selectControl(id, name, options, selected = undefined) {
  return h(
    'select',
    { id, name },
    options.map(([value, text]) => h('option', { value, selected: selected !== undefined && value === selected }, text)),
  );
}

/** `[value, text]` options: each value with its text from `texts`, else the value in words. */
export function labelledOptions(values, texts) {
  return values.map((value) => [value, texts[value] ?? String(value).replace(/_/g, ' ')]);
}

/**
 * A form row: `label` over `control`, and after the label's text a `hint` when there is one
 * (`hintId` names it, for a control described by it).
 */
export function formRow(control, label, hint = null, hintId = null) {
  return h(
    'div',
    {},
    h('label', { for: control.id }, label, hint && h('span', { class: 'hint', id: hintId }, ` ${hint}`)),
    control,
  );
}

/** `element` shown only while `select` has `value`. */
export function shownWhen(element, select, value) {
  const update = () => {
    element.hidden = select.value !== value;
  };
  select.addEventListener('change', update);
  update();
  return element;
}
