/* The demo web client: log in (the gateway sets an HttpOnly cookie), then
 * list folders through the REST API. Plain JS, no build step. */
'use strict';

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error((data && data.detail) || res.statusText);
  return data;
}

function showFolders(mailboxes) {
  const rows = $('folder-rows');
  rows.replaceChildren();
  for (const m of mailboxes) {
    const tr = document.createElement('tr');
    for (const [text, cls] of [[m.path, ''], [m.role || '', ''],
                               [m.unread ?? '', 'num'], [m.total ?? '', 'num']]) {
      const td = document.createElement('td');
      td.textContent = String(text);
      if (cls) td.className = cls;
      tr.append(td);
    }
    rows.append(tr);
  }
  $('folders').hidden = false;
  $('login').hidden = true;
  $('logout').hidden = false;
}

async function loadFolders() {
  const data = await api('GET', '/api/v1/mailboxes');
  showFolders(data.mailboxes);
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  $('error').textContent = '';
  try {
    const who = await api('POST', '/api/v1/auth/login',
                          { username: form.get('username'), password: form.get('password') });
    $('who').textContent = who.username;
    await loadFolders();
  } catch (e) {
    $('error').textContent = e.message;
  }
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/v1/auth/logout');
  location.reload();
});

loadFolders().catch(() => { /* not logged in yet */ });
