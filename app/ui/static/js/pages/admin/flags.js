// Admin console: the feature flags, each with its kill switch, rollout percentage and listed
// users, changed by admins (a PUT replaces the whole rule); what one user gets of a flag, and why.
// GET /admin/flags, PUT /admin/flags/{name}, GET /admin/flags/{name}/evaluate

import { ApiProblem, get, pathOf, put } from '../../api.js';
import { actionForm, fieldList, loaded, messageArea, notice, pageHeading, statusBadge, time } from '../../components.js';
import { h, replaceContent } from '../../dom.js';
import { formRow, textInput } from '../../forms.js';
import { problemNotice } from '../../problems.js';
import { hasAnyRole } from '../../session.js';

const ONE = '/admin/flags/{name}';
const EVALUATE = '/admin/flags/{name}/evaluate';

export async function render({ view, page, session }) {
  const area = messageArea();
  const flags = h('div');
  const editable = hasAnyRole(session, ['admin']); // support reads; the service refuses them a change anyway
  view.append(
    pageHeading(page.title),
    h(
      'p',
      {},
      'A flag is on for a user when its switch is on and the user is listed as allowed, or not listed ',
      'as denied and within the rollout percentage. A user keeps their place in a rollout as it grows.',
    ),
    area,
    flags,
  );
  const list = await loaded(area, () => get('/admin/flags'));
  if (list === null) return;
  replaceContent(
    flags,
    list.data.map((flag) => flagPanel(flag, editable)),
  );
}

// One flag: its state, the form of its rule (admins), and the user check. A save updates it in place.
function flagPanel(flag, editable) {
  const id = (part) => `flag-${flag.name}-${part}`;
  const area = messageArea();
  const badge = h('span');
  const meta = h('div');
  const enabled = h('input', { id: id('enabled'), name: 'enabled', type: 'checkbox', role: 'switch' });
  const percent = h('input', {
    id: id('percent'),
    name: 'rollout_percent',
    type: 'number',
    inputmode: 'numeric',
    min: '0',
    max: '100',
    step: '1',
  });
  const allow = h('textarea', { id: id('allow'), name: 'allow_users', rows: '2', spellcheck: 'false' });
  const deny = h('textarea', { id: id('deny'), name: 'deny_users', rows: '2', spellcheck: 'false' });
  for (const control of [enabled, percent, allow, deny]) control.disabled = !editable;

  const showState = (state) => {
    replaceContent(badge, statusBadge(state.enabled ? 'on' : 'off'));
    replaceContent(
      meta,
      fieldList([
        ['Set by', state.source === 'stored' ? (state.updated_by ?? 'unknown') : 'the settings (default)'],
        ['Changed', state.updated_at ? time(state.updated_at) : null],
      ]),
    );
    enabled.checked = state.enabled;
    percent.value = String(state.rollout_percent);
    allow.value = state.allow_users.join('\n');
    deny.value = state.deny_users.join('\n');
  };
  showState(flag);

  const rows = [
    h(
      'div',
      { class: 'switch' },
      enabled,
      h('label', { for: enabled.id }, 'Switched on', h('span', { class: 'hint' }, ' (off: nobody gets it)')),
    ),
    formRow(percent, 'Rollout percentage', '0 to 100'),
    formRow(allow, 'Always for', 'user ids, one a line'),
    formRow(deny, 'Never for', 'user ids, one a line; beats "always"'),
  ];
  const request = () => {
    const rule = {
      enabled: enabled.checked,
      rollout_percent: wholeNumber(percent.value),
      allow_users: userIds(allow.value),
      deny_users: userIds(deny.value),
    };
    return {
      confirm: {
        title: `Change ${flag.name}?`,
        message: `${flag.name} will be ${describe(rule)}. Every process of the service follows within its flag cache time.`,
        confirmLabel: `Save ${flag.name}`,
      },
      perform: (action) => put(pathOf(ONE, { name: flag.name }), rule, action),
      done: (saved) => {
        showState(saved);
        return notice('success', `Saved: ${flag.name} is ${describe(saved)}.`);
      },
    };
  };
  // The service judges the rule and names what it refuses; the inputs' bounds only guide typing.
  const form = actionForm({
    area,
    className: 'stacked',
    rows,
    submitLabel: editable ? `Save ${flag.name}` : null,
    request,
  });
  return h(
    'section',
    { class: 'panel flag', 'data-flag': flag.name, 'aria-labelledby': id('name') },
    h('h2', { id: id('name') }, flag.name, ' ', badge),
    area,
    meta,
    form,
    evaluation(flag),
  );
}

// What was typed is sent as it is when it is not a whole number, so the service names the problem.
function wholeNumber(text) {
  return /^\s*-?\d+\s*$/.test(text) ? Number(text) : text;
}

function userIds(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

function describe(rule) {
  if (!rule.enabled) return 'off for everyone';
  const parts = [`on for ${rule.rollout_percent}% of users`];
  if (rule.allow_users.length > 0) parts.push(`always for ${rule.allow_users.length} listed`);
  if (rule.deny_users.length > 0) parts.push(`never for ${rule.deny_users.length} listed`);
  return parts.join(', ');
}

const DECISIONS = {
  kill_switch: 'switched off for everyone',
  denied: 'listed as never',
  allowed: 'listed as always',
  in_rollout: 'within the rollout percentage',
  out_of_rollout: 'outside the rollout percentage',
};

// "Does this user get it?", answered by the service.
function evaluation(flag) {
  const input = textInput(`flag-${flag.name}-user`, 'user_id');
  const answer = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    formRow(input, 'Does this user get it?'),
    h('div', {}, h('button', { type: 'submit', class: 'secondary' }, 'Check user')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const result = await get(pathOf(EVALUATE, { name: flag.name }), { user_id: input.value.trim() });
      const bucket = `place ${result.bucket} of 10,000 in the rollout`;
      replaceContent(
        answer,
        h(
          'p',
          { 'data-decision': result.decision },
          `${result.user_id}: ${result.enabled ? 'gets' : 'does not get'} ${flag.name} (${DECISIONS[result.decision] ?? result.decision}; ${bucket}).`,
        ),
      );
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      replaceContent(answer, problemNotice(error));
    }
  });
  return h('div', { class: 'evaluate' }, form, answer);
}
