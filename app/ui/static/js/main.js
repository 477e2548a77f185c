// The shell of every page: sign-in, the navigation for the token's roles, and the hash routes
// (`#/admin/webhook-events/evt_1?x=y`) that open the page modules listed in pages.json.

import { operations } from './api.js';
import { notice, pageHeading } from './components.js';
import { h, replaceContent } from './dom.js';
import { formatDate } from './format.js';
import { loadProblemMessages } from './problems.js';
import { claimsOf, currentSession, hasAnyRole, signIn, signOut } from './session.js';

const APP_TITLE = 'Marketplace payments';
const main = document.getElementById('main');
const nav = document.getElementById('nav');

const shell = {
  manifest: null, // pages.json
  operations: new Set(), // what the API offers today
  afterSignIn: '#/',
};

/** A page can open when its module is written and every operation it calls exists in the API. */
function isAvailable(page) {
  return Boolean(page.module) && page.operations.every((operation) => shell.operations.has(operation));
}

/** Pages offered to this session: available, and meant for one of its roles (for display only). */
function pagesFor(session) {
  return shell.manifest.pages.filter((page) => isAvailable(page) && hasAnyRole(session, page.roles));
}

function currentLocation() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const queryAt = hash.indexOf('?');
  const path = queryAt === -1 ? hash : hash.slice(0, queryAt);
  return {
    path: path.startsWith('/') ? path : `/${path}`,
    query: new URLSearchParams(queryAt === -1 ? '' : hash.slice(queryAt + 1)),
  };
}

function pageAt(path) {
  return shell.manifest.pages.find((page) => path === page.path || path.startsWith(`${page.path}/`));
}

async function route() {
  const session = currentSession();
  const { path, query } = currentLocation();
  renderChrome(session, path);
  const view = h('div', { class: 'view' });
  replaceContent(main, view);
  if (path === '/sign-in' || session === null) {
    if (path !== '/sign-in') shell.afterSignIn = location.hash || '#/';
    renderSignIn(view);
    return;
  }
  if (path === '/') {
    renderHome(view, session);
  } else {
    await renderPage(view, session, path, query);
  }
  if (view.isConnected) view.querySelector('h1')?.focus();
}

async function renderPage(view, session, path, query) {
  const page = pageAt(path);
  if (!page || !isAvailable(page)) {
    document.title = `Not found · ${APP_TITLE}`;
    view.append(
      pageHeading('No such page'),
      h('p', {}, 'This service has no page here. '),
      h('a', { href: '#/' }, 'Go to the start page'),
    );
    return;
  }
  document.title = `${page.title} · ${APP_TITLE}`;
  const module = await import(new URL(page.module, document.baseURI).href);
  const segments = path.slice(page.path.length).split('/').filter(Boolean).map(decodeURIComponent);
  await module.render({
    view,
    page,
    session,
    segments,
    query,
    addressOf: (apiPath) => addressOf(session, apiPath),
    // Records new filters in the address (for links and Back) without opening the page again.
    setQuery(values) {
      const search = new URLSearchParams(values).toString();
      history.pushState(null, '', `#${path}${search ? `?${search}` : ''}`);
    },
  });
}

/**
 * The address of the page offered to this session that shows what the API path
 * (`/admin/disputes?kind=buyer`, `/admin/migrations/mig_1`) lists: the page calling that GET
 * operation, with the path's parameters as its segments and the same query. Null when none is.
 */
function addressOf(session, apiPath) {
  const [path, search] = apiPath.split('?');
  for (const page of pagesFor(session)) {
    for (const operation of page.operations) {
      const [method, template] = operation.split(' ');
      const values = method === 'GET' ? parametersOf(template, path) : null;
      if (values === null) continue;
      const segments = values.map((value) => `/${encodeURIComponent(value)}`).join('');
      return `#${page.path}${segments}${search ? `?${search}` : ''}`;
    }
  }
  return null;
}

// The values of a path template's parameters in `path` (`/a/{id}` and `/a/7`: ["7"]), or null.
function parametersOf(template, path) {
  const expected = template.split('/');
  const actual = path.split('/');
  if (expected.length !== actual.length) return null;
  const values = [];
  for (const [index, part] of expected.entries()) {
    if (/^\{\w+\}$/.test(part) && actual[index] !== '') values.push(decodeURIComponent(actual[index]));
    else if (part !== actual[index]) return null;
  }
  return values;
}

function renderChrome(session, path) {
  const identity = document.getElementById('identity');
  identity.hidden = session === null;
  nav.hidden = session === null;
  if (session === null) {
    nav.replaceChildren();
    return;
  }
  const roles = session.roles.length > 0 ? session.roles.join(', ') : 'no roles';
  document.getElementById('identity-text').textContent = `${session.user} (${roles})`;
  const offered = pagesFor(session);
  replaceContent(
    nav,
    shell.manifest.sections.map((section) => {
      const pages = offered.filter((page) => page.section === section.id);
      if (pages.length === 0) return null;
      return h(
        'div',
        { class: 'nav-section', 'data-section': section.id },
        h('h2', {}, section.title),
        h(
          'ul',
          {},
          pages.map((page) => h('li', {}, navLink(page, path))),
        ),
      );
    }),
  );
}

function navLink(page, path) {
  const current = path === page.path || path.startsWith(`${page.path}/`);
  return h('a', { href: `#${page.path}`, 'aria-current': current ? 'page' : null }, page.title);
}

function renderSignIn(view) {
  document.title = `Sign in · ${APP_TITLE}`;
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'token-hint',
  });
  const error = h('p', { id: 'token-error', class: 'notice error', role: 'alert', hidden: true });
  const form = h(
    'form',
    { class: 'stacked panel' },
    h('div', {}, h('label', { for: 'token' }, 'Access token'), input),
    h(
      'p',
      { id: 'token-hint', class: 'hint' },
      'A Bearer token (JWT) from the marketplace; locally, ',
      h('code', {}, 'make run'),
      ' prints how to get one for each demo user. It is kept in this tab only.',
    ),
    error,
    h('div', {}, h('button', { type: 'submit' }, 'Sign in')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim().replace(/^Bearer\s+/i, '');
    const problem =
      token === ''
        ? 'Paste a token first.'
        : claimsOf(token) === null
          ? 'This is not a JWT: a token is three parts separated by dots.'
          : null;
    if (problem) {
      error.textContent = problem;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    signIn(token);
    const target = shell.afterSignIn === '#/sign-in' ? '#/' : shell.afterSignIn;
    shell.afterSignIn = '#/';
    if (location.hash === target) route();
    else location.hash = target;
  });
  view.append(pageHeading('Sign in'), form);
  input.focus();
}

function renderHome(view, session) {
  document.title = APP_TITLE;
  const offered = pagesFor(session);
  const expiry = session.expiresAt
    ? session.expiresAt < new Date()
      ? notice(
          'warning',
          `Your token expired at ${formatDate(session.expiresAt.toISOString())}.`,
          'The service will refuse it: sign in again with a fresh one.',
        )
      : h('p', {}, `Your token is valid until ${formatDate(session.expiresAt.toISOString())}.`)
    : null;
  view.append(
    pageHeading(`Signed in as ${session.user}`),
    expiry,
    h('h2', {}, 'Your pages'),
    offered.length === 0
      ? h('p', {}, 'There are no pages for your roles yet.')
      : h(
          'ul',
          { class: 'page-list' },
          offered.map((page) =>
            h('li', {}, h('a', { href: `#${page.path}` }, page.title), ` — ${page.summary}`),
          ),
        ),
  );
}

async function start() {
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    (main.querySelector('h1') ?? main).focus();
  });
  document.getElementById('sign-out').addEventListener('click', () => {
    signOut();
    shell.afterSignIn = '#/';
    if (location.hash === '#/sign-in') route();
    else location.hash = '#/sign-in';
  });
  const [manifest, offered] = await Promise.all([
    fetch('pages.json', { headers: { Accept: 'application/json' } }).then((response) => response.json()),
    operations(),
    loadProblemMessages(),
  ]);
  shell.manifest = manifest;
  shell.operations = offered;
  window.addEventListener('hashchange', route);
  await route();
}

start().catch((error) => {
  replaceContent(main, pageHeading('The pages could not start'), h('p', { role: 'alert' }, String(error)));
});
