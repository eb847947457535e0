// app.js - the webmail: state, folder tree, message list, actions, live
// updates and the offline cache. Plain ES modules, no build step.
//
// State (S) holds the account's mailboxes and the open folder's query as a
// sparse array of Email ids by position (S.ids) over a cache of summaries by
// id (S.emails). The list (list.js) draws only the rows on screen and asks
// for their pages (Email/query position/limit + Email/get in one request).
// Changes arrive as push "something changed" (live.js); the app then asks
// Email/changes and Mailbox/changes from the states it holds and applies the
// delta: updated summaries in place, and when messages came or went in the
// open folder, the ids of the visible window only are queried again.
import * as jmap from './jmap.js';
import * as store from './store.js';
import * as compose from './compose.js';
import { render as renderReader, fetchEmails } from './reader.js';
import { VirtualList } from './list.js';
import { Live } from './live.js';

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const CACHE_ROWS = 100;
const SUMMARY = ['id', 'threadId', 'mailboxIds', 'keywords', 'from', 'subject', 'preview',
                 'receivedAt', 'hasAttachment', 'size'];

const S = {
  account: null, username: null,
  mailboxes: new Map(), mailboxState: null,
  box: null, threads: false, search: '',
  ids: [], total: 0, loaded: new Set(), inflight: new Set(), gen: 0,
  emails: new Map(), threadSize: new Map(),
  emailState: null,
  selected: new Set(), anchor: -1,
  openId: null, openEmails: null,
  identities: null,
  live: null, syncing: Promise.resolve(),
};

let list;

/* ---------------------------------------------------------------- helpers */

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function roleId(role) {
  for (const m of S.mailboxes.values()) if (m.role === role) return m.id;
  return null;
}

function fmtDate(iso) {
  const d = new Date(iso), now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.getFullYear() === now.getFullYear()) return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  return d.toLocaleDateString();
}

let toastTimer = 0;
function toast(text, undo) {
  const t = $('toast');
  t.querySelector('span').textContent = text;
  const b = t.querySelector('button');
  b.hidden = !undo;
  b.onclick = undo ? () => { t.hidden = true; undo(); } : null;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, undo ? 8000 : 4000);
}

function fail(e) {
  console.warn(e);
  toast('Error: ' + (e.message || e));
}

/* ------------------------------------------------------------ login/logout */

function showLogin() {
  $('login-view').hidden = false;
  $('app').hidden = true;
  $('search').hidden = $('logout').hidden = $('conn').hidden = true;
  $('who').textContent = '';
  document.querySelector('#login input[name=username]').focus();
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  $('error').textContent = '';
  try {
    await jmap.login(f.get('username'), f.get('password'));
    ev.target.reset();
    await start();
  } catch (e) {
    $('error').textContent = 'Login failed: ' + e.message;
  }
});

$('logout').addEventListener('click', async () => {
  if (compose.isOpen()) await compose.close(true);
  if (S.live) S.live.stop();
  await store.clear();
  await jmap.logout();
  location.reload();
});

// A 401 while working: ask for the password in an overlay and resolve once
// logged in again; the page (and any draft) stays as it is underneath.
jmap.setAuthHandler(() => new Promise((resolve) => {
  const box = $('reauth');
  box.hidden = false;
  if (S.live) S.live.stop();
  $('reauth-user').value = S.username;
  box.querySelector('input[type=password]').focus();
  $('reauth-form').onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      await jmap.login(S.username, new FormData(ev.target).get('password'));
      ev.target.reset();
      box.hidden = true;
      $('reauth-error').textContent = '';
      startLive();
      resolve();
      sync();
    } catch (e) {
      $('reauth-error').textContent = 'Login failed: ' + e.message;
    }
  };
}));

/* ----------------------------------------------------------------- folders */

function sortedMailboxes() {
  const order = { inbox: 0, drafts: 1, sent: 2, archive: 3, junk: 4, trash: 5 };
  const kids = new Map();
  for (const m of S.mailboxes.values()) {
    const p = m.parentId || '';
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(m);
  }
  for (const l of kids.values()) {
    l.sort((a, b) => (order[a.role] ?? 9) - (order[b.role] ?? 9) || a.name.localeCompare(b.name));
  }
  return kids;
}

function renderFolders() {
  const kids = sortedMailboxes();
  const tree = $('folder-tree');
  const sel = $('move-to');
  tree.replaceChildren();
  sel.replaceChildren(new Option('Move to\u2026', ''));
  const add = (parent, ul, depth) => {
    for (const m of kids.get(parent) || []) {
      const li = el('li');
      const a = el('a', 'folder');
      a.href = '#' + encodeURIComponent(m.id);
      a.dataset.id = m.id;
      a.append(el('span', 'name', m.name));
      if (m.unreadEmails) {
        const badge = el('span', 'badge', String(m.unreadEmails));
        badge.setAttribute('aria-label', m.unreadEmails + ' unread');
        a.append(badge);
      }
      if (m.id === S.box) a.setAttribute('aria-current', 'page');
      li.append(a);
      ul.append(li);
      sel.append(new Option('\u00a0\u00a0'.repeat(depth) + m.name, m.id));
      if (kids.has(m.id)) {
        const sub = el('ul');
        li.append(sub);
        add(m.id, sub, depth + 1);
      }
    }
  };
  add('', tree, 0);
  const cur = S.mailboxes.get(S.box);
  $('list-title').textContent = cur ? cur.name : '';
  $('list-count').textContent = cur ? `${cur.unreadEmails} unread, ${cur.totalEmails} in all` : '';
  document.title = (cur && cur.unreadEmails ? `(${cur.unreadEmails}) ` : '') + (cur ? cur.name : '') + ' - jmapgate';
}

// Drag and drop onto a folder is handled on the tree, not on each link:
// push redraws the tree whenever a count changes, and a drop must land on
// whichever link is under the pointer when the button is let go, even one
// drawn after the drag began.
function folderUnder(e) { return e.target.closest && e.target.closest('a.folder'); }
$('folder-tree').addEventListener('dragover', (e) => {
  const a = folderUnder(e);
  if (!a) return;
  e.preventDefault();
  a.classList.add('drop');
});
$('folder-tree').addEventListener('dragleave', (e) => {
  const a = folderUnder(e);
  if (a) a.classList.remove('drop');
});
$('folder-tree').addEventListener('drop', (e) => {
  const a = folderUnder(e);
  if (!a) return;
  e.preventDefault();
  a.classList.remove('drop');
  const ids = JSON.parse(e.dataTransfer.getData('application/x-jmapgate-ids') || '[]');
  const to = a.dataset.id;
  if (ids.length) expandThreads(ids).catch(() => ids).then((all) => move(all, to));
});

$('folder-tree').addEventListener('click', (e) => {
  const a = e.target.closest('a.folder');
  if (!a) return;
  e.preventDefault();
  openBox(a.dataset.id);
  document.body.classList.remove('nav-open');
  $('nav-toggle').setAttribute('aria-expanded', 'false');
});

async function loadMailboxes() {
  const r = await jmap.call('Mailbox/get', {
    properties: ['id', 'name', 'parentId', 'role', 'totalEmails', 'unreadEmails', 'sortOrder'] });
  S.mailboxes = new Map(r.list.map((m) => [m.id, m]));
  S.mailboxState = r.state;
  renderFolders();
  cacheMailboxes();
}

function cacheMailboxes() {
  store.put(S.account + ':mailboxes', { list: [...S.mailboxes.values()], state: S.mailboxState });
}

async function syncMailboxes() {
  if (!S.mailboxState) return loadMailboxes();
  let r;
  try {
    r = await jmap.call('Mailbox/changes', { sinceState: S.mailboxState });
  } catch (e) {
    if (e.type === 'cannotCalculateChanges') return loadMailboxes();
    throw e;
  }
  for (const id of r.destroyed) S.mailboxes.delete(id);
  const ids = [...r.created, ...r.updated];
  if (ids.length) {
    const g = await jmap.call('Mailbox/get', { ids,
      properties: ['id', 'name', 'parentId', 'role', 'totalEmails', 'unreadEmails', 'sortOrder'] });
    for (const m of g.list) S.mailboxes.set(m.id, m);
  }
  S.mailboxState = r.newState;
  if (r.hasMoreChanges) return syncMailboxes();
  if (ids.length || r.destroyed.length) { renderFolders(); cacheMailboxes(); }
  if (S.box && !S.mailboxes.has(S.box)) openBox(roleId('inbox'));
}

async function mailboxSet(args, what) {
  try {
    const r = await jmap.call('Mailbox/set', args);
    const bad = r.notCreated || r.notUpdated || r.notDestroyed;
    if (bad && Object.keys(bad).length) {
      const e = Object.values(bad)[0];
      throw new Error(e.description || e.type);
    }
    await syncMailboxes();
    toast(what);
    return r;
  } catch (e) { fail(e); return null; }
}

$('folder-new').addEventListener('click', async () => {
  const name = prompt('Name of the new folder');
  if (!name) return;
  const r = await mailboxSet({ create: { n: { name, parentId: null } } }, `Folder \u201c${name}\u201d created`);
  if (r && r.created && r.created.n) openBox(r.created.n.id);
});

$('folder-rename').addEventListener('click', async () => {
  const m = S.mailboxes.get(S.box);
  if (!m || m.role) { toast('Folders with a role (Inbox, Sent, ...) keep their names'); return; }
  const name = prompt('New name for ' + m.name, m.name);
  if (!name || name === m.name) return;
  await mailboxSet({ update: { [m.id]: { name } } }, `Renamed to \u201c${name}\u201d`);
});

$('folder-delete').addEventListener('click', async () => {
  const m = S.mailboxes.get(S.box);
  if (!m || m.role) { toast('Folders with a role (Inbox, Sent, ...) cannot be deleted'); return; }
  if (!confirm(`Delete the folder \u201c${m.name}\u201d${m.totalEmails ? ` and its ${m.totalEmails} messages` : ''}?`)) return;
  const r = await mailboxSet({ destroy: [m.id], onDestroyRemoveEmails: true }, `Folder \u201c${m.name}\u201d deleted`);
  if (r) openBox(roleId('inbox'));
});

/* -------------------------------------------------------------------- list */

function queryArgs() {
  const filter = S.search ? { inMailbox: S.box, text: S.search } : { inMailbox: S.box };
  return { filter, sort: [{ property: 'receivedAt', isAscending: false }], collapseThreads: S.threads };
}

function rowHeight() { return matchMedia('(max-width: 700px)').matches ? 76 : 58; }

function renderRow(row, i) {
  const id = S.ids[i];
  const m = id && S.emails.get(id);
  row.replaceChildren();
  row.classList.toggle('placeholder', !m);
  if (!m) {
    row.append(el('span', 'muted', 'Loading\u2026'));
    row.removeAttribute('draggable');
    delete row.dataset.id;
    row.setAttribute('aria-selected', 'false');
    return;
  }
  const unread = !m.keywords.$seen, flagged = !!m.keywords.$flagged;
  row.classList.toggle('unread', unread);
  row.classList.toggle('open', m.id === S.openId);
  const sel = S.selected.has(m.id);
  row.classList.toggle('selected', sel);
  row.setAttribute('aria-selected', String(sel));
  row.dataset.id = m.id;
  row.draggable = true;
  // A drawn check box, not an <input>: an option may hold nothing
  // interactive; selection is the option's aria-selected.
  const box = el('span', 'sel', sel ? '\u2611' : '\u2610');
  box.setAttribute('aria-hidden', 'true');
  const from = (m.from && m.from[0]) ? (m.from[0].name || m.from[0].email) : '(unknown)';
  const n = S.threads ? S.threadSize.get(m.threadId) : 0;
  const flags = el('span', 'flags');
  const mark = (cls, glyph, name) => {
    const s = el('span', cls, glyph);
    s.setAttribute('aria-hidden', 'true');
    flags.append(s, el('span', 'sr', name));
  };
  if (unread) flags.append(el('span', 'sr', 'unread'));
  if (flagged) mark('flag', '\u2605', 'flagged');
  if (m.hasAttachment) mark('clip', '\u{1F4CE}', 'has attachment');
  if (m.keywords.$answered) mark('answered', '\u21a9', 'answered');
  const subj = el('span', 'subject', m.subject || '(no subject)');
  const top = el('div', 'line1');
  top.append(el('span', 'from', from), n > 1 ? el('span', 'count', String(n)) : '', flags,
             el('time', 'date', fmtDate(m.receivedAt)));
  const bottom = el('div', 'line2');
  bottom.append(subj, el('span', 'preview', m.preview || ''));
  const text = el('div', 'text');
  text.append(top, bottom);
  row.append(box, text);
}

// Fetch the pages covering [from, to] that are not loaded yet.
// Pages are fetched at most two at a time, newest wish first, and a page
// that has scrolled out of view by the time its turn comes is dropped: a
// fast scroll through 20,000 rows fetches what it stops on, not what it
// flew past.
const MAX_PAGE_FETCHES = 2;
let wanted = [];
let retryTimer = 0;
function need(from, to) {
  const pages = [];
  for (let p = Math.floor(from / PAGE); p <= Math.floor(to / PAGE); p++) pages.push(p);
  wanted = pages;
  pump();
}

function pump() {
  while (S.inflight.size < MAX_PAGE_FETCHES && wanted.length) {
    const p = wanted.shift();
    if (S.loaded.has(p) || S.inflight.has(p)) continue;
    const gen = S.gen;
    fetchPage(p).catch((e) => {
      // A busy gateway (503) or a network blip: ask again for what is
      // still on screen in a moment, rather than leave "Loading..." rows.
      console.warn('page', p, e.message);
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => list.update(), 2000);
    }).finally(() => { if (gen === S.gen) pump(); });
  }
}

async function fetchPage(p) {
  const gen = S.gen;
  S.inflight.add(p);
  const calls = [
    ['Email/query', { ...queryArgs(), position: p * PAGE, limit: PAGE, calculateTotal: true }],
    ['Email/get', { '#ids': { resultOf: 'c0', name: 'Email/query', path: '/ids' }, properties: SUMMARY }],
  ];
  if (S.threads) calls.push(['Thread/get', { '#ids': { resultOf: 'c1', name: 'Email/get', path: '/list/*/threadId' } }]);
  try {
    const out = await jmap.calls(calls);
    if (gen !== S.gen) return;
    const [q, g, t] = out;
    for (const e of g.list) S.emails.set(e.id, e);
    if (t) for (const th of t.list) S.threadSize.set(th.id, th.emailIds.length);
    q.ids.forEach((id, k) => { S.ids[q.position + k] = id; });
    S.loaded.add(p);
    if (!S.emailState) S.emailState = g.state;
    if (q.total !== S.total) { S.total = q.total; list.setCount(q.total); } else list.refresh();
    if (p === 0) cacheBox();
  } finally {
    if (gen === S.gen) S.inflight.delete(p);
  }
}

function cacheBox() {
  if (S.search || !S.box) return;
  const ids = S.ids.slice(0, CACHE_ROWS).filter(Boolean);
  store.put(`${S.account}:box:${S.box}:${S.threads ? 't' : 'm'}`, {
    ids, total: S.total, emails: ids.map((id) => S.emails.get(id)).filter(Boolean),
    threadSize: ids.map((id) => { const e = S.emails.get(id); return e && [e.threadId, S.threadSize.get(e.threadId)]; }),
    emailState: S.emailState,
  });
}

function resetList() {
  S.gen++;
  S.ids = [];
  S.loaded.clear();
  S.inflight.clear();
  S.selected.clear();
  S.total = 0;
  list.active = -1;
  list.setCount(0);
  list.el.scrollTop = 0;
  updateSel();
}

async function openBox(id, { push = true } = {}) {
  if (!id) return;
  S.box = id;
  S.search = '';
  $('q').value = '';
  resetList();
  renderFolders();
  if (push) history.replaceState(null, '', '#' + encodeURIComponent(id));
  localStorage.setItem('jmapgate.box', id);
  const cached = await store.get(`${S.account}:box:${id}:${S.threads ? 't' : 'm'}`);
  if (cached && S.box === id && !S.loaded.size) {
    // Shown at once from the last visit, then brought up to date by delta.
    for (const e of cached.emails) S.emails.set(e.id, e);
    for (const ts of cached.threadSize || []) if (ts) S.threadSize.set(ts[0], ts[1]);
    cached.ids.forEach((eid, k) => { S.ids[k] = eid; });
    S.total = cached.total;
    markLoaded();
    list.setCount(cached.total);
    if (cached.emailState && cached.emailState !== S.emailState) {
      await queueSync(() => applyEmailChanges(cached.emailState, false));
    }
  } else {
    await fetchPage(0).catch(fail);
  }
  if (list.active < 0 && S.total) list.setActive(0, false);
}

// Pages whose every position holds an id count as loaded (from the cache).
function markLoaded() {
  for (let p = 0; p * PAGE < S.total; p++) {
    let full = true;
    for (let i = p * PAGE; i < Math.min((p + 1) * PAGE, S.total); i++) if (!S.ids[i]) { full = false; break; }
    if (full) S.loaded.add(p); else break;
  }
}

async function refreshWindow() {
  // Positions shifted (mail came or went): query again the ids of the
  // visible window only, keep every summary we already hold.
  const [first, last] = list.range();
  const from = Math.max(0, Math.floor(first / PAGE) * PAGE);
  const to = Math.max(from + PAGE, Math.ceil((last + 1) / PAGE) * PAGE);
  const gen = ++S.gen;
  S.inflight.clear();
  const q = await jmap.call('Email/query', { ...queryArgs(), position: from, limit: to - from, calculateTotal: true });
  if (gen !== S.gen) return;
  const missing = q.ids.filter((id) => !S.emails.has(id));
  if (missing.length) {
    const g = await jmap.call('Email/get', { ids: missing, properties: SUMMARY });
    for (const e of g.list) S.emails.set(e.id, e);
    if (S.threads) {
      const t = await jmap.call('Thread/get', { ids: [...new Set(g.list.map((e) => e.threadId))] });
      for (const th of t.list) S.threadSize.set(th.id, th.emailIds.length);
    }
  }
  if (gen !== S.gen) return;
  S.ids = [];
  S.loaded.clear();
  q.ids.forEach((id, k) => { S.ids[from + k] = id; });
  for (let p = from / PAGE; p < to / PAGE; p++) S.loaded.add(p);
  for (const id of [...S.selected]) if (!q.ids.includes(id)) S.selected.delete(id);
  S.total = q.total;
  list.setCount(q.total, true);
  list.refresh();
  updateSel();
  if (from === 0) cacheBox();
}

/* ------------------------------------------------------- live and deltas */

function queueSync(fn) {
  S.syncing = S.syncing.then(fn).catch((e) => { if (e.message && !e.message.startsWith('network')) fail(e); });
  return S.syncing;
}

// Apply Email/changes since `since` to the open folder; `global`: it is the
// account state we hold (else a cached folder's state).
async function applyEmailChanges(since, global = true) {
  let state = since, created = [], updated = [], destroyed = [];
  for (;;) {
    let r;
    try {
      r = await jmap.call('Email/changes', { sinceState: state, maxChanges: 500 });
    } catch (e) {
      if (e.type !== 'cannotCalculateChanges') throw e;
      // No delta possible: refresh what is on screen (never the folder).
      const g = await jmap.call('Email/get', { ids: [], properties: ['id'] });
      if (global) S.emailState = g.state;
      await refreshVisibleSummaries();
      return refreshWindow();
    }
    created = created.concat(r.created);
    updated = updated.concat(r.updated);
    destroyed = destroyed.concat(r.destroyed);
    state = r.newState;
    if (!r.hasMoreChanges) break;
  }
  if (global) S.emailState = state;
  let shift = false;
  for (const id of destroyed) {
    if (S.emails.delete(id) || S.ids.includes(id)) shift = true;
    S.selected.delete(id);
  }
  const known = updated.filter((id) => S.emails.has(id));
  const ask = [...known, ...created];
  if (ask.length) {
    const g = await jmap.call('Email/get', { ids: ask, properties: SUMMARY });
    for (const e of g.list) {
      const old = S.emails.get(e.id);
      S.emails.set(e.id, e);
      // Positions change when a message came into or left the open folder:
      // by what we held of it, or by whether the list shows it.
      const inBox = !!e.mailboxIds[S.box], wasIn = old ? !!old.mailboxIds[S.box] : false;
      if (inBox !== wasIn || inBox !== S.ids.includes(e.id)) shift = true;
    }
  }
  if (S.openId && destroyed.includes(S.openId)) closeReader();
  if (shift) await refreshWindow(); else { list.refresh(); cacheBox(); }
}

async function refreshVisibleSummaries() {
  const ids = [...list.rows.keys()].map((i) => S.ids[i]).filter(Boolean);
  if (!ids.length) return;
  const g = await jmap.call('Email/get', { ids, properties: SUMMARY });
  for (const e of g.list) S.emails.set(e.id, e);
  list.refresh();
}

function sync() {
  return queueSync(async () => {
    await syncMailboxes();
    if (S.emailState) await applyEmailChanges(S.emailState);
  });
}

function setConn(state) {
  const c = $('conn');
  c.hidden = false;
  c.dataset.state = state;
  c.textContent = { live: 'live', reconnecting: 'reconnecting\u2026', offline: 'offline' }[state];
}

function startLive() {
  if (S.live) S.live.stop();
  S.live = new Live(jmap.eventSourceUrl(), {
    onStatus: setConn,
    onDown: () => { jmap.request([['Core/echo', {}]]).catch(() => {}); },
    onChange: (ev) => {
      if (ev.reason === 'state' && ev.data && ev.data.changed) {
        const ch = ev.data.changed[S.account] || {};
        if (ch.Email && ch.Email === S.emailState && ch.Mailbox === S.mailboxState) return;
      }
      if (ev.reason === 'open') return;       // just loaded: nothing missed
      sync();
    },
  });
  S.live.start();
}

/* ----------------------------------------------------------------- actions */

function targets() {
  if (S.selected.size) return [...S.selected];
  if (S.openId) return [S.openId];
  const id = S.ids[list.active];
  return id ? [id] : [];
}

function updateSel() {
  $('sel-count').textContent = S.selected.size ? `${S.selected.size} selected` : '';
}

async function setKeyword(ids, kw, on) {
  const before = new Map();
  let unreadDelta = 0;
  for (const id of ids) {
    const e = S.emails.get(id);
    if (!e) continue;
    before.set(id, { ...e.keywords });
    if (kw === '$seen' && !!e.keywords.$seen !== on) unreadDelta += on ? -1 : 1;
    e.keywords = { ...e.keywords };
    if (on) e.keywords[kw] = true; else delete e.keywords[kw];
  }
  const box = S.mailboxes.get(S.box);
  if (box && unreadDelta) { box.unreadEmails = Math.max(0, box.unreadEmails + unreadDelta); renderFolders(); }
  list.refresh();
  const update = {};
  for (const id of ids) update[id] = { ['keywords/' + kw]: on ? true : null };
  try {
    const r = await jmap.call('Email/set', { update });
    if (r.notUpdated && Object.keys(r.notUpdated).length) throw new Error(Object.values(r.notUpdated)[0].type);
  } catch (e) {
    for (const [id, kws] of before) { const em = S.emails.get(id); if (em) em.keywords = kws; }
    if (box && unreadDelta) { box.unreadEmails -= unreadDelta; renderFolders(); }
    list.refresh();
    fail(e);
  }
}

// Take ids out of the list at once (they moved away); positions shift.
function dropFromList(ids) {
  const gone = new Set(ids);
  const kept = [];
  let removed = 0;
  for (let i = 0; i < Math.max(S.ids.length, 0); i++) {
    const id = S.ids[i];
    if (id !== undefined && gone.has(id)) { removed++; continue; }
    kept[i - removed] = id;
  }
  S.ids = kept;
  S.loaded.clear();          // page boundaries moved: refetch pages not in S.ids
  for (let p = 0; p * PAGE < kept.length; p++) {
    let full = true;
    for (let i = p * PAGE; i < Math.min((p + 1) * PAGE, S.total - removed); i++) if (!kept[i]) { full = false; break; }
    if (full) S.loaded.add(p);
  }
  for (const id of ids) S.selected.delete(id);
  S.total = Math.max(0, S.total - removed);
  list.setCount(S.total, true);
  if (S.openId && gone.has(S.openId)) {
    list.setActive(Math.min(list.active, S.total - 1), false);
    openActive();
  }
  updateSel();
}

async function move(ids, to, { undoable = true, label } = {}) {
  if (!ids.length || !to || to === S.box) return;
  const from = S.box;
  const dest = S.mailboxes.get(to);
  dropFromList(ids);
  const update = {};
  for (const id of ids) update[id] = { mailboxIds: { [to]: true } };
  try {
    const r = await jmap.call('Email/set', { update });
    const bad = r.notUpdated && Object.values(r.notUpdated)[0];
    if (bad) throw new Error(`${bad.type}${bad.description ? ': ' + bad.description : ''}`);
    for (const id of ids) { const e = S.emails.get(id); if (e) e.mailboxIds = { [to]: true }; }
    const what = label || `Moved ${ids.length} message${ids.length > 1 ? 's' : ''} to ${dest ? dest.name : 'folder'}`;
    toast(what, undoable ? () => undoMove(ids, from, to) : null);
  } catch (e) {
    fail(e);
  }
  queueSync(() => refreshWindow());
}

async function undoMove(ids, from, to) {
  const update = {};
  for (const id of ids) update[id] = { mailboxIds: { [from]: true } };
  try {
    const r = await jmap.call('Email/set', { update });
    const bad = r.notUpdated && Object.values(r.notUpdated)[0];
    if (bad) throw new Error(bad.type);
    for (const id of ids) { const e = S.emails.get(id); if (e) e.mailboxIds = { [from]: true }; }
    toast('Undone');
    if (from === S.box) queueSync(() => refreshWindow());
  } catch (e) { fail(e); }
  sync();
  void to;
}

async function remove(ids) {
  if (!ids.length) return;
  const trash = roleId('trash');
  if (trash && S.box !== trash) {
    return move(ids, trash, { label: `Deleted ${ids.length} message${ids.length > 1 ? 's' : ''}` });
  }
  if (!confirm(`Delete ${ids.length} message${ids.length > 1 ? 's' : ''} for ever?`)) return;
  dropFromList(ids);
  try {
    const r = await jmap.call('Email/set', { destroy: ids });
    if (r.notDestroyed && Object.keys(r.notDestroyed).length) throw new Error(Object.values(r.notDestroyed)[0].type);
    toast(`Deleted ${ids.length} for ever`);
  } catch (e) { fail(e); }
  queueSync(() => refreshWindow());
}

// In the conversation view a row stands for its thread: moving, deleting
// or marking it read takes every message of the thread in this folder.
async function expandThreads(ids) {
  if (!S.threads) return ids;
  const tids = [...new Set(ids.map((id) => (S.emails.get(id) || {}).threadId).filter(Boolean))];
  const [, g] = await jmap.calls([
    ['Thread/get', { ids: tids }],
    ['Email/get', { '#ids': { resultOf: 'c0', name: 'Thread/get', path: '/list/*/emailIds' },
                    properties: ['id', 'mailboxIds', 'keywords'] }],
  ]);
  const all = g.list.filter((e) => e.mailboxIds[S.box]);
  for (const e of all) {
    const known = S.emails.get(e.id);
    if (known) Object.assign(known, { keywords: e.keywords, mailboxIds: e.mailboxIds });
  }
  return [...new Set([...ids, ...all.map((e) => e.id)])];
}

async function act(name) {
  const picked = targets();
  if (!picked.length) return null;
  const first = S.emails.get(picked[0]);
  const ids = name === 'flag' ? picked : await expandThreads(picked).catch(() => picked);
  switch (name) {
    case 'read': return setKeyword(ids, '$seen', true);
    case 'unread': return setKeyword(ids, '$seen', false);
    case 'flag': return setKeyword(ids, '$flagged', !(first && first.keywords.$flagged));
    case 'archive': {
      const a = roleId('archive');
      return a ? move(ids, a) : toast('No Archive folder');
    }
    case 'delete': return remove(ids);
    default: return null;
  }
}

for (const b of document.querySelectorAll('.toolbar button[data-act]')) {
  b.addEventListener('click', () => act(b.dataset.act));
}
$('move-to').addEventListener('change', async (e) => {
  const to = e.target.value;
  e.target.value = '';
  if (to) move(await expandThreads(targets()).catch(() => targets()), to);
});

/* ------------------------------------------------------------------ reader */

function closeReader() {
  S.openId = null;
  S.openEmails = null;
  $('reader').replaceChildren(el('p', 'muted empty', 'No message selected.'));
  document.body.classList.remove('reading');
}

const readerActions = {
  back: () => { document.body.classList.remove('reading'); list.el.focus(); },
  reply: (e, all) => compose.open(all ? 'replyAll' : 'reply', e),
  forward: (e) => compose.open('forward', e),
  editDraft: (e) => compose.open('draft', e),
};

async function openEmail(id) {
  const sum = S.emails.get(id);
  if (!sum) return;
  S.openId = id;
  list.refresh();
  document.body.classList.add('reading');
  try {
    let ids = [id];
    if (S.threads) {
      const t = await jmap.call('Thread/get', { ids: [sum.threadId] });
      if (t.list[0]) ids = t.list[0].emailIds;
    }
    const emails = await fetchEmails(ids);
    if (S.openId !== id) return;
    emails.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
    S.openEmails = emails;
    renderReader($('reader'), emails, readerActions);
    if (!sum.keywords.$seen) setKeyword([id], '$seen', true);
  } catch (e) { fail(e); }
}

function openActive() {
  const id = S.ids[list.active];
  if (id) openEmail(id); else closeReader();
}

/* ------------------------------------------------------- list interaction */

function setupList() {
  list = new VirtualList($('list'), { rowHeight: rowHeight(), render: renderRow, need });
  matchMedia('(max-width: 700px)').addEventListener('change', () => list.setRowHeight(rowHeight()));
  list.el.addEventListener('click', (e) => {
    const i = list.indexOf(e.target);
    const id = S.ids[i];
    if (i < 0 || !id) return;
    if (e.target.classList.contains('sel') || e.ctrlKey || e.metaKey) {
      if (S.selected.has(id)) S.selected.delete(id); else S.selected.add(id);
      S.anchor = i;
    } else if (e.shiftKey && S.anchor >= 0) {
      for (let k = Math.min(S.anchor, i); k <= Math.max(S.anchor, i); k++) if (S.ids[k]) S.selected.add(S.ids[k]);
    } else {
      S.anchor = i;
      list.setActive(i, false);
      openEmail(id);
    }
    list.setActive(i, false);
    list.refresh();
    updateSel();
  });
  // The message dragged is the one the button was pressed on: push may
  // redraw the list between the press and the drag's start, and a redrawn
  // row may then show another message.
  let pressed = null;
  list.el.addEventListener('mousedown', (e) => {
    const row = e.target.closest('.row');
    pressed = row && row.dataset.id ? { row, id: row.dataset.id } : null;
  });
  list.el.addEventListener('dragstart', (e) => {
    const row = e.target.closest && e.target.closest('.row');
    const id = pressed && pressed.row === row ? pressed.id : (row && row.dataset.id);
    pressed = null;
    if (!id || !S.emails.has(id)) { e.preventDefault(); return; }
    const ids = S.selected.has(id) ? [...S.selected] : [id];
    e.dataTransfer.setData('application/x-jmapgate-ids', JSON.stringify(ids));
    e.dataTransfer.effectAllowed = 'move';
  });
  list.el.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); list.setActive(list.active + 1); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); list.setActive(list.active - 1); }
    else if (e.key === 'Enter') { e.preventDefault(); openActive(); }
    else if (e.key === ' ') {
      e.preventDefault();
      const id = S.ids[list.active];
      if (id) { if (S.selected.has(id)) S.selected.delete(id); else S.selected.add(id); list.refresh(); updateSel(); }
    } else if (e.key === 'Home') { e.preventDefault(); list.setActive(0); }
    else if (e.key === 'End') { e.preventDefault(); list.setActive(list.count - 1); }
  });
}

$('threads-toggle').addEventListener('change', (e) => {
  S.threads = e.target.checked;
  closeReader();
  openBox(S.box);
});

$('search').addEventListener('submit', (e) => e.preventDefault());
let searchTimer = 0;
$('q').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    S.search = $('q').value.trim();
    resetList();
    fetchPage(0).then(() => { if (S.total) list.setActive(0, false); }).catch(fail);
  }, 300);
});

$('nav-toggle').addEventListener('click', () => {
  const open = document.body.classList.toggle('nav-open');
  $('nav-toggle').setAttribute('aria-expanded', String(open));
});

$('compose-btn').addEventListener('click', () => compose.open('new'));

/* ---------------------------------------------------------------- keyboard */

function typing(t) {
  return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
}

// The shortcut help: "?" opens it, Esc or Close shuts it and gives the
// focus back to where it was.
let helpReturn = null;
function showHelp(on) {
  if (on === !$('help').hidden) return;
  $('help').hidden = !on;
  if (on) { helpReturn = document.activeElement; $('help-close').focus(); }
  else if (helpReturn && helpReturn.focus) helpReturn.focus();
}
$('help-close').addEventListener('click', () => showHelp(false));
$('help').addEventListener('keydown', (e) => {
  if (e.key === 'Escape' || e.key === '?') { e.preventDefault(); showHelp(false); }
  if (e.key === 'Tab') { e.preventDefault(); $('help-close').focus(); } /* the one control: keep focus in */
  e.stopPropagation();
});

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || $('app').hidden || !$('reauth').hidden) return;
  if (!$('help').hidden) return;
  if (compose.isOpen() && $('compose').contains(e.target)) return;
  const open = () => S.openEmails && S.openEmails[S.openEmails.length - 1];
  switch (e.key) {
    case 'j': list.setActive(list.active + 1); openActive(); break;
    case 'k': list.setActive(list.active - 1); openActive(); break;
    case 'r': if (open()) compose.open('reply', open()); break;
    case 'a': if (open()) compose.open('replyAll', open()); break;
    case 'f': if (open()) compose.open('forward', open()); break;
    case 'e': act('archive'); break;
    case '#': act('delete'); break;
    case 's': act('flag'); break;
    case 'u': act('unread'); break;
    case 'c': compose.open('new'); break;
    case '/': $('q').focus(); break;
    case '?': showHelp(true); break;
    case 'Escape': if (S.selected.size) { S.selected.clear(); list.refresh(); updateSel(); } break;
    default: return;
  }
  e.preventDefault();
});

/* ------------------------------------------------------------------- start */

async function identities() {
  if (!jmap.canSubmit()) return [{ id: '', email: S.username.includes('@') ? S.username : S.username, name: '' }];
  if (!S.identities) S.identities = (await jmap.call('Identity/get', {})).list;
  return S.identities;
}

function showApp() {
  $('login-view').hidden = true;
  $('app').hidden = false;
  $('search').hidden = $('logout').hidden = false;
}

// Paint the last visit's folder list at once, before any network answer.
async function showCached() {
  const last = await store.get('last');
  if (!last) return false;
  const mbs = await store.get(last.account + ':mailboxes');
  if (!mbs) return false;
  S.account = last.account;
  S.username = last.username;
  S.mailboxes = new Map(mbs.list.map((m) => [m.id, m]));
  S.mailboxState = mbs.state;
  $('who').textContent = S.username;
  showApp();
  setConn(navigator.onLine ? 'reconnecting' : 'offline');
  const want = decodeURIComponent(location.hash.slice(1)) || localStorage.getItem('jmapgate.box');
  S.box = S.mailboxes.has(want) ? want : roleId('inbox');
  renderFolders();
  const cached = await store.get(`${S.account}:box:${S.box}:m`);
  if (cached) {
    for (const e of cached.emails) S.emails.set(e.id, e);
    cached.ids.forEach((id, k) => { S.ids[k] = id; });
    S.total = cached.total;
    markLoaded();
    list.setCount(cached.total);
    S.emailState = cached.emailState;
  }
  return true;
}

async function start() {
  const sess = await jmap.loadSession().catch(() => null);
  if (!sess) {
    if (!navigator.onLine && S.account) return;          // offline: keep the cached view
    await store.clear();
    showLogin();
    return;
  }
  const acct = jmap.accountId();
  if (S.account && S.account !== acct) {
    await store.clear();
    S.emails.clear(); S.mailboxState = null; S.emailState = null;
  }
  S.account = acct;
  S.username = sess.username;
  $('who').textContent = sess.username;
  store.put('last', { account: acct, username: sess.username });
  showApp();
  startLive();
  if (S.mailboxState) await queueSync(syncMailboxes).catch(() => loadMailboxes());
  else await loadMailboxes();
  if (!S.mailboxes.size) await loadMailboxes();
  const want = decodeURIComponent(location.hash.slice(1)) || localStorage.getItem('jmapgate.box');
  const box = S.mailboxes.has(want) ? want : roleId('inbox');
  if (S.emailState && box === S.box && S.total) {
    // The cached page is on screen: bring it up to date by delta only.
    await queueSync(() => applyEmailChanges(S.emailState));
  } else {
    await openBox(box);
  }
  if (list.active < 0 && S.total) list.setActive(0, false);
  compose.restore();
}

setupList();
compose.init({ roleId, toast, identities });
showCached().finally(() => start().catch((e) => { fail(e); }));
