// The one way pages call the JSON API: the user's Bearer token on every call, an
// Idempotency-Key on every POST and PUT, and every refusal turned into an ApiProblem carrying the
// service's problem document (RFC 9457).

import { currentToken } from './session.js';

/** A refusal or failure of a call: `problem` is the service's problem document (or one made here). */
export class ApiProblem extends Error {
  constructor(problem, requestId = null) {
    super(problem.detail || problem.title);
    this.problem = problem;
    this.requestId = requestId;
  }

  get status() {
    return this.problem.status;
  }

  get code() {
    return this.problem.code;
  }

  /** Whether sending the same action again (same Idempotency-Key) may succeed. */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500 || IN_PROGRESS.has(this.code);
  }
}

const IN_PROGRESS = new Set(['idempotency_request_in_flight', 'webhook_event_in_progress']);

/**
 * One user action (a confirmed click): its Idempotency-Key is made once and sent again by every
 * retry of that action, so the service runs it at most once.
 */
export function newAction() {
  return { idempotencyKey: newIdempotencyKey() };
}

function newIdempotencyKey() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // randomUUID needs a secure context (https or localhost); the same 122 random bits otherwise.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `GET path?query`; query members that are empty are left out. */
export function get(path, query = {}) {
  return call('GET', withQuery(path, query));
}

/** `POST path` with a JSON body, as one attempt of `action` (see newAction). */
export function post(path, body, action) {
  return call('POST', path, body, { 'Idempotency-Key': action.idempotencyKey });
}

/** `PUT path` with a JSON body (a whole replacement, so repeating it is harmless), as one attempt of `action`. */
export function put(path, body, action) {
  return call('PUT', path, body, { 'Idempotency-Key': action.idempotencyKey });
}

/** A path template of the API (`/admin/webhook-events/{event_id}`) with its parameters filled in. */
export function pathOf(template, parameters) {
  return template.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(parameters[name]));
}

function withQuery(path, query) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== '') search.append(name, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * `GET path` of a file (evidence, a report): its bytes and the name the service gives it, read
 * with the user's token (a plain link could not carry it). A refusal is an ApiProblem.
 */
export async function download(path) {
  const response = await send('GET', path, undefined, { Accept: '*/*' });
  const disposition = response.headers.get('Content-Disposition') || '';
  const named = /filename="([^"]+)"/.exec(disposition);
  return { blob: await response.blob(), filename: named ? named[1] : path.split('/').pop() };
}

async function call(method, path, body, extraHeaders = {}) {
  const response = await send(method, path, body, {
    Accept: 'application/json, application/problem+json',
    ...extraHeaders,
  });
  return response.status === 204 ? null : response.json();
}

// One request with the user's token; an answer that is not a success becomes an ApiProblem.
async function send(method, path, body, extraHeaders) {
  const headers = { ...extraHeaders };
  const token = currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiProblem({
      status: 0,
      code: 'network_error',
      title: 'No answer from the service',
      detail: `${method} ${path} did not reach the service.`,
    });
  }
  const requestId = response.headers.get('X-Request-Id');
  if (response.ok) return response;
  throw new ApiProblem(await problemOf(response, method, path), requestId);
}

async function problemOf(response, method, path) {
  if ((response.headers.get('Content-Type') || '').startsWith('application/problem+json')) {
    try {
      return await response.json();
    } catch {
      // Not a readable document after all: described below like any other answer.
    }
  }
  return {
    status: response.status,
    code: 'unexpected_answer',
    title: response.statusText || 'Unexpected answer',
    detail: `${method} ${path} answered ${response.status} without a problem document.`,
  };
}

// The API's own description (GET /openapi.json, public): which operations exist, and the values
// a parameter takes, so the pages neither guess routes nor copy lists the API already states.

let documentPromise = null;

export function apiDocument() {
  documentPromise ??= fetch('/openapi.json', { headers: { Accept: 'application/json' } }).then((response) => {
    if (!response.ok) throw new Error(`GET /openapi.json answered ${response.status}`);
    return response.json();
  });
  return documentPromise;
}

/** Every operation of the API as `"METHOD /path/{param}"`. */
export async function operations() {
  const document = await apiDocument();
  const found = new Set();
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const method of Object.keys(methods)) found.add(`${method.toUpperCase()} ${path}`);
  }
  return found;
}

/** The values a query parameter of an operation may take (its schema's enum), in the API's order. */
export async function parameterValues(operation, name) {
  const document = await apiDocument();
  const [method, path] = operation.split(' ');
  const parameter = (document.paths[path]?.[method.toLowerCase()]?.parameters ?? []).find(
    (candidate) => candidate.name === name,
  );
  return parameter ? enumOf(document, parameter.schema) : [];
}

/**
 * The values a field of an operation's JSON body may take (its schema's enum, or for a body of
 * several shapes the values of the field telling them apart), in the API's order.
 */
export async function bodyFieldValues(operation, name) {
  const document = await apiDocument();
  const [method, path] = operation.split(' ');
  const body = document.paths[path]?.[method.toLowerCase()]?.requestBody?.content?.['application/json'];
  const schema = body ? resolveSchema(document, body.schema) : null;
  if (schema?.discriminator?.propertyName === name) return Object.keys(schema.discriminator.mapping ?? {});
  return enumOf(document, schema?.properties?.[name]);
}

function resolveSchema(document, schema) {
  return schema?.$ref ? resolve(document, schema.$ref) : schema;
}

function enumOf(document, schema) {
  if (!schema) return [];
  if (schema.$ref) return enumOf(document, resolve(document, schema.$ref));
  if (Array.isArray(schema.enum)) return schema.enum.filter((value) => value !== null);
  const choices = schema.anyOf ?? schema.oneOf ?? [];
  return choices.flatMap((choice) => enumOf(document, choice));
}

function resolve(document, reference) {
  return reference
    .replace(/^#\//, '')
    .split('/')
    .reduce((node, key) => node?.[key], document);
}
