// compose.js - new message, reply, reply all, forward. Plain or rich text,
// attachments, a draft saved automatically (built here as MIME, uploaded
// with progress, Email/import into Drafts with $draft; the previous draft is
// destroyed in the same request), and send with EmailSubmission/set on the
// imported draft, which moves it Drafts -> Sent on success. The form's
// content is also kept in sessionStorage, so a reload or an expired login
// loses nothing.
import * as jmap from './jmap.js';
import { build, parseAddrs } from './mime.js';
import { addrList } from './reader.js';
import DOMPurify from './vendor/purify.es.js';

function sanitizeFragment(html) {
  return DOMPurify.sanitize(html, { FORBID_TAGS: ['style', 'form', 'img', 'iframe'], FORBID_ATTR: ['style'] });
}

const $ = (id) => document.getElementById(id);
const KEEP = 'jmapgate.compose';

let ctx = null;            // {draftId, inReplyTo, references, attachments, dirty, saving}
let saveTimer = 0;
let hooks = { roleId: () => null, toast: () => {}, identities: async () => [] };

export function init(h) {
  hooks = h;
  $('compose-close').addEventListener('click', () => close(true));
  $('c-discard').addEventListener('click', discard);
  $('compose-form').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('compose-form').addEventListener('input', changed);
  $('c-html').addEventListener('input', changed);
  $('c-rich').addEventListener('change', toggleRich);
  $('c-files').addEventListener('change', addFiles);
  for (const b of document.querySelectorAll('#rich-tools button')) {
    b.addEventListener('click', () => {
      const cmd = b.dataset.cmd;
      const arg = cmd === 'createLink' ? prompt('Link address (https://...)') : null;
      if (cmd === 'createLink' && !/^https?:\/\//i.test(arg || '')) return;
      document.execCommand(cmd, false, arg);
      $('c-html').focus();
      changed();
    });
  }
  $('compose').addEventListener('keydown', (e) => { if (e.key === 'Escape') close(true); });
}

export function isOpen() { return !$('compose').hidden; }

function status(s) { $('draft-status').textContent = s; }

function changed() {
  if (!ctx) return;
  ctx.dirty = true;
  keep();
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => saveDraft().catch((e) => status('Draft not saved: ' + e.message)), 2500);
}

function fields() {
  const rich = $('c-rich').checked;
  return {
    identity: $('c-identity').value, to: $('c-to').value, cc: $('c-cc').value, bcc: $('c-bcc').value,
    subject: $('c-subject').value, rich,
    text: rich ? $('c-html').innerText.replace(/\u00a0/g, ' ') : $('c-text').value,
    html: rich ? $('c-html').innerHTML : null,
  };
}

function keep() {
  if (!ctx) return;
  sessionStorage.setItem(KEEP, JSON.stringify({ ...fields(), draftId: ctx.draftId,
    inReplyTo: ctx.inReplyTo, references: ctx.references }));
}

function toggleRich() {
  const rich = $('c-rich').checked;
  $('rich-tools').hidden = !rich;
  $('c-html').hidden = !rich;
  $('c-text').hidden = rich;
  if (rich) {
    const div = document.createElement('div');
    div.textContent = $('c-text').value;
    $('c-html').innerHTML = div.innerHTML.replace(/\n/g, '<br>');
  } else {
    $('c-text').value = $('c-html').innerText;
  }
  changed();
}

async function addFiles() {
  for (const f of $('c-files').files) {
    ctx.attachments.push({ name: f.name, type: f.type || 'application/octet-stream',
      bytes: new Uint8Array(await f.arrayBuffer()) });
  }
  $('c-files').value = '';
  showAttachments();
  changed();
}

function showAttachments() {
  const ul = $('c-attachments');
  ul.replaceChildren();
  ctx.attachments.forEach((a, i) => {
    const li = document.createElement('li');
    li.textContent = `${a.name} (${Math.ceil(a.bytes.length / 1024)} kB) `;
    const rm = document.createElement('button');
    rm.type = 'button';
    rm.textContent = 'Remove';
    rm.setAttribute('aria-label', 'Remove ' + a.name);
    rm.addEventListener('click', () => { ctx.attachments.splice(i, 1); showAttachments(); changed(); });
    li.append(rm);
    ul.append(li);
  });
}

async function fillIdentities(chosen) {
  const sel = $('c-identity');
  sel.replaceChildren();
  const ids = await hooks.identities();
  for (const i of ids) {
    const o = document.createElement('option');
    o.value = i.id;
    o.textContent = i.name ? `${i.name} <${i.email}>` : i.email;
    sel.append(o);
  }
  if (chosen) sel.value = chosen;
  return ids;
}

function quote(email, text) {
  const who = addrList(email.from);
  const when = new Date(email.sentAt || email.receivedAt).toLocaleString();
  return `\n\nOn ${when}, ${who} wrote:\n` + text.split('\n').map((l) => '> ' + l).join('\n');
}

function bodyOf(email) {
  const parts = email.textBody || [];
  return parts.map((p) => (email.bodyValues[p.partId] || {}).value || '').join('\n');
}

// mode: 'new' | 'reply' | 'replyAll' | 'forward' | 'restore'; email: the original.
export async function open(mode = 'new', email = null, restored = null) {
  if (ctx && isOpen()) await close(true);
  ctx = { draftId: null, inReplyTo: null, references: [], attachments: [], dirty: false };
  $('c-error').textContent = '';
  status('');
  $('c-rich').checked = false;
  $('c-html').innerHTML = '';
  for (const id of ['c-to', 'c-cc', 'c-bcc', 'c-subject', 'c-text']) $(id).value = '';
  const ids = await fillIdentities(restored && restored.identity);
  const me = ids[0] || null;
  const sig = me && me.textSignature ? '\n\n-- \n' + me.textSignature : '';
  let text = sig;
  if (restored) {
    Object.assign(ctx, { draftId: restored.draftId, inReplyTo: restored.inReplyTo,
      references: restored.references || [] });
    $('c-to').value = restored.to; $('c-cc').value = restored.cc; $('c-bcc').value = restored.bcc;
    $('c-subject').value = restored.subject;
    text = restored.text;
    if (restored.rich) { $('c-rich').checked = true; $('c-html').innerHTML = restored.html; }
  } else if (email && (mode === 'reply' || mode === 'replyAll')) {
    const myAddr = me ? me.email.toLowerCase() : '';
    const to = (email.replyTo && email.replyTo.length ? email.replyTo : email.from) || [];
    const others = mode === 'replyAll'
      ? [...(email.to || []), ...(email.cc || [])].filter((a) => a.email.toLowerCase() !== myAddr) : [];
    $('c-to').value = addrList(to);
    $('c-cc').value = addrList(others);
    $('c-subject').value = /^re:/i.test(email.subject || '') ? email.subject : 'Re: ' + (email.subject || '');
    ctx.inReplyTo = email.messageId && email.messageId[0] ? `<${email.messageId[0]}>` : null;
    ctx.references = [...(email.references || []), ...(email.messageId || [])].map((i) => `<${i}>`);
    text = sig + quote(email, bodyOf(email));
  } else if (email && mode === 'draft') {
    // Carry on with a stored draft: it is replaced by the next save.
    ctx.draftId = email.id;
    ctx.inReplyTo = email.inReplyTo && email.inReplyTo[0] ? `<${email.inReplyTo[0]}>` : null;
    ctx.references = (email.references || []).map((i) => `<${i}>`);
    $('c-to').value = addrList(email.to);
    $('c-cc').value = addrList(email.cc);
    $('c-bcc').value = addrList(email.bcc);
    $('c-subject').value = email.subject || '';
    text = bodyOf(email);
    const html = (email.htmlBody || []).find((p) => p.type === 'text/html');
    if (html) {
      // The stored HTML is our own compose output, but still only ever
      // shown after sanitising.
      $('c-rich').checked = true;
      $('c-html').innerHTML = sanitizeFragment((email.bodyValues[html.partId] || {}).value || '');
    }
    for (const a of email.attachments || []) {
      const res = await fetch(jmap.downloadUrl(a.blobId, a.name, a.type), { credentials: 'same-origin' });
      if (res.ok) ctx.attachments.push({ name: a.name || 'attachment', type: a.type,
        bytes: new Uint8Array(await res.arrayBuffer()) });
    }
  } else if (email && mode === 'forward') {
    $('c-subject').value = 'Fwd: ' + (email.subject || '');
    text = sig + '\n\n---------- Forwarded message ----------\n' +
      `From: ${addrList(email.from)}\nDate: ${new Date(email.sentAt || email.receivedAt).toUTCString()}\n` +
      `Subject: ${email.subject || ''}\nTo: ${addrList(email.to)}\n\n` + bodyOf(email);
    for (const a of email.attachments || []) {
      const res = await fetch(jmap.downloadUrl(a.blobId, a.name, a.type), { credentials: 'same-origin' });
      if (res.ok) ctx.attachments.push({ name: a.name || 'attachment', type: a.type,
        bytes: new Uint8Array(await res.arrayBuffer()) });
    }
  }
  $('c-text').value = text;
  $('c-text').hidden = $('c-rich').checked;
  $('c-html').hidden = $('rich-tools').hidden = !$('c-rich').checked;
  $('compose-title').textContent = { reply: 'Reply', replyAll: 'Reply all', forward: 'Forward',
                                     draft: 'Draft' }[mode] || 'New message';
  showAttachments();
  $('compose').hidden = false;
  (mode === 'new' ? $('c-to') : $('c-text')).focus();
  if (mode === 'reply' || mode === 'replyAll') $('c-text').setSelectionRange(0, 0);
  keep();
}

function message() {
  const f = fields();
  const ids = [...$('c-identity').options].map((o) => o.textContent);
  const from = parseAddrs(ids[$('c-identity').selectedIndex] || '');
  return build({ from, to: parseAddrs(f.to), cc: parseAddrs(f.cc), bcc: parseAddrs(f.bcc),
    subject: f.subject, text: f.text, html: f.html, inReplyTo: ctx.inReplyTo,
    references: ctx.references, attachments: ctx.attachments });
}

async function uploadMessage() {
  const prog = $('c-progress');
  prog.hidden = false;
  prog.value = 0;
  try {
    return await jmap.upload(message(), (p) => { prog.value = p; });
  } finally {
    prog.hidden = true;
  }
}

// Store the form as the draft (replacing the previous one).
export async function saveDraft() {
  if (!ctx || ctx.saving) return;
  const drafts = hooks.roleId('drafts');
  if (!drafts) { status('No Drafts folder: draft kept in this tab only'); return; }
  ctx.saving = true;
  clearTimeout(saveTimer);
  try {
    ctx.dirty = false;
    status('Saving draft\u2026');
    const blob = await uploadMessage();
    const calls = [['Email/import', { emails: { d: { blobId: blob.blobId, mailboxIds: { [drafts]: true },
      keywords: { $draft: true, $seen: true } } } }]];
    if (ctx.draftId) calls.push(['Email/set', { destroy: [ctx.draftId] }]);
    const [imp] = await jmap.calls(calls);
    if (!imp.created || !imp.created.d) throw new Error(JSON.stringify(imp.notCreated));
    ctx.draftId = imp.created.d.id;
    keep();
    status('Draft saved ' + new Date().toLocaleTimeString());
  } catch (e) {
    ctx.dirty = true;
    throw e;
  } finally {
    ctx.saving = false;
  }
}

async function send() {
  $('c-error').textContent = '';
  if (!jmap.canSubmit()) { $('c-error').textContent = 'This server does not offer sending (no SMTP configured).'; return; }
  if (!parseAddrs($('c-to').value + ',' + $('c-cc').value + ',' + $('c-bcc').value).length) {
    $('c-error').textContent = 'Add at least one recipient.';
    return;
  }
  const drafts = hooks.roleId('drafts'), sent = hooks.roleId('sent');
  if (!drafts) { $('c-error').textContent = 'No Drafts folder to send from.'; return; }
  $('c-send').disabled = true;
  clearTimeout(saveTimer);
  try {
    status('Sending\u2026');
    const blob = await uploadMessage();
    const onSuccess = { 'keywords/$draft': null };
    if (sent) { onSuccess['mailboxIds/' + drafts] = null; onSuccess['mailboxIds/' + sent] = true; }
    const calls = [
      ['Email/import', { emails: { m: { blobId: blob.blobId, mailboxIds: { [drafts]: true },
        keywords: { $draft: true, $seen: true } } } }],
      ['EmailSubmission/set', { create: { s: { identityId: $('c-identity').value, emailId: '#m' } },
        onSuccessUpdateEmail: { '#s': onSuccess } }],
    ];
    if (ctx.draftId) calls.push(['Email/set', { destroy: [ctx.draftId] }]);
    const [imp, sub] = await jmap.calls(calls);
    if (!imp.created || !imp.created.m) throw new Error('draft not stored: ' + JSON.stringify(imp.notCreated));
    if (!sub.created || !sub.created.s) {
      const err = (sub.notCreated || {}).s || {};
      ctx.draftId = imp.created.m.id;
      throw new Error(`${err.type || 'not sent'}${err.description ? ': ' + err.description : ''}`);
    }
    ctx = null;
    sessionStorage.removeItem(KEEP);
    $('compose').hidden = true;
    hooks.toast('Message sent');
  } catch (e) {
    status('');
    $('c-error').textContent = 'Not sent: ' + e.message;
  } finally {
    $('c-send').disabled = false;
  }
}

export async function close(save) {
  if (!ctx) { $('compose').hidden = true; return; }
  if (save && ctx.dirty) {
    try { await saveDraft(); } catch (e) { $('c-error').textContent = 'Draft not saved: ' + e.message; return; }
  }
  ctx = null;
  sessionStorage.removeItem(KEEP);
  $('compose').hidden = true;
}

async function discard() {
  const id = ctx && ctx.draftId;
  ctx = null;
  clearTimeout(saveTimer);
  sessionStorage.removeItem(KEEP);
  $('compose').hidden = true;
  if (id) await jmap.call('Email/set', { destroy: [id] }).catch(() => {});
}

// A compose form left in this tab (reload, logout by expiry): reopen it.
export function restore() {
  const kept = sessionStorage.getItem(KEEP);
  if (!kept) return false;
  try { open('restore', null, JSON.parse(kept)); return true; } catch { return false; }
}
