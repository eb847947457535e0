// jmap.js - the gateway's JMAP API from the browser: session, method calls,
// upload with progress, download URLs, login/logout. Authentication is the
// HttpOnly SameSite=Strict cookie the gateway sets at login: no token is
// ever visible to JavaScript. A 401 anywhere asks the app to log in again
// (onAuthLost) and retries the request once that succeeded, so whatever the
// user was doing (a draft in progress) stays on screen.

const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail',
               'urn:ietf:params:jmap:submission'];

let session = null;
let authWaiter = null;      // promise resolved when the user has logged in again
let onAuthLost = () => Promise.reject(new Error('not logged in'));

export class AuthError extends Error {}
export class MethodError extends Error {
  constructor(type, detail) { super(detail || type); this.type = type; }
}

export function setAuthHandler(fn) { onAuthLost = fn; }
export function getSession() { return session; }
export function accountId() {
  return session && session.primaryAccounts['urn:ietf:params:jmap:mail'];
}
export function canSubmit() {
  return !!(session && session.capabilities['urn:ietf:params:jmap:submission']);
}

// Same-origin path of an absolute session URL: the cookie is sent only to
// the origin the page came from, whatever public_url says.
// (A string operation: URL() would percent-encode the {template} braces.)
function local(url) {
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]+/i, '');
}

async function reauth() {
  if (!authWaiter) authWaiter = onAuthLost().finally(() => { authWaiter = null; });
  return authWaiter;
}

// fetch with the cookie; a 401 waits for a new login and tries once more.
async function send(path, opts, retried = false) {
  let res;
  try {
    res = await fetch(path, { credentials: 'same-origin', ...opts });
  } catch (e) {
    throw new Error('network: ' + e.message);
  }
  if (res.status === 401 && !retried) {
    await reauth();
    return send(path, opts, true);
  }
  if (res.status === 401) throw new AuthError('not logged in');
  return res;
}

async function problem(res) {
  let detail = res.statusText;
  try { const p = await res.json(); detail = p.detail || p.title || detail; } catch { /* not JSON */ }
  return new Error(`${res.status} ${detail}`);
}

export async function login(username, password) {
  const res = await fetch('/api/v1/auth/login', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw await problem(res);
  const who = await res.json();
  // Only the expiry is kept (sessionStorage): the token itself stays in the cookie.
  sessionStorage.setItem('jmapgate.expiresAt', String(who.expiresAt));
  return who;
}

export async function logout() {
  session = null;
  sessionStorage.removeItem('jmapgate.expiresAt');
  await fetch('/api/v1/auth/logout', { method: 'POST', credentials: 'same-origin' });
}

// The session resource, or null when not logged in (no prompt).
export async function loadSession() {
  const res = await fetch('/jmap/session', { credentials: 'same-origin' });
  if (res.status === 401) return null;
  if (!res.ok) throw await problem(res);
  session = await res.json();
  return session;
}

// Run method calls; returns the responses as [[name, args, tag], ...].
// calls: [[name, args], ...] (tags c0, c1, ... are added), every args gets
// the accountId unless it has one.
export async function request(calls) {
  const methodCalls = calls.map(([name, args], i) =>
    [name, { accountId: accountId(), ...args }, 'c' + i]);
  const res = await send(local(session.apiUrl), {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ using: USING.filter((u) => session.capabilities[u]), methodCalls }),
  });
  if (!res.ok) throw await problem(res);
  return (await res.json()).methodResponses;
}

// One method; throws MethodError on a JMAP error response.
export async function call(name, args) {
  const [[rname, rargs]] = await request([[name, args]]);
  if (rname === 'error') throw new MethodError(rargs.type, rargs.description);
  return rargs;
}

// Several methods; throws on the first error response.
export async function calls(list) {
  const out = await request(list);
  for (const [name, args] of out) {
    if (name === 'error') throw new MethodError(args.type, args.description);
  }
  return out.map(([, args]) => args);
}

export function downloadUrl(blobId, name, type) {
  return local(session.downloadUrl)
    .replace('{accountId}', encodeURIComponent(accountId()))
    .replace('{blobId}', encodeURIComponent(blobId))
    .replace('{name}', encodeURIComponent(name || 'download'))
    .replace('{type}', encodeURIComponent(type || 'application/octet-stream'));
}

export function eventSourceUrl() {
  return local(session.eventSourceUrl)
    .replace('{types}', '*').replace('{closeafter}', 'no').replace('{ping}', '30');
}

// Upload a Blob with progress (XHR: fetch has no upload progress).
// Resolves {blobId, type, size}.
export function upload(blob, onProgress, retried = false) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', local(session.uploadUrl).replace('{accountId}', encodeURIComponent(accountId())));
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', blob.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new Error('network: upload failed'));
    xhr.onload = () => {
      if (xhr.status === 401 && !retried) {
        reauth().then(() => upload(blob, onProgress, true)).then(resolve, reject);
      } else if (xhr.status >= 200 && xhr.status < 300) {
        resolve(JSON.parse(xhr.responseText));
      } else {
        let detail = xhr.statusText;
        try { detail = JSON.parse(xhr.responseText).detail || detail; } catch { /* keep */ }
        reject(new Error(`upload: ${xhr.status} ${detail}`));
      }
    };
    xhr.send(blob);
  });
}
