// compose.js - new message, reply, reply all, forward, edit a draft. Plain
// or rich text; attachments uploaded to the session's uploadUrl as soon as
// they are picked (a progress bar each) and referenced by blobId (parts of an
// existing message, for forward and drafts, by theirs: nothing is downloaded);
// a draft saved automatically with Email/set create into Drafts with $draft
// (the previous draft destroyed in the same call: IMAP messages cannot be
// changed); send = Email/set create + EmailSubmission/set on '#m' in one
// request, which moves it Drafts -> Sent on success. The form (attachments
// by blobId included) is also kept in sessionStorage, so a reload or an
// expired login loses nothing.
import * as jmap from './jmap.js';
import { addrList } from './reader.js';
import DOMPurify from './vendor/purify.es.js';

// "Ann <a@x>, b@y" -> [{name, email}]
export function parseAddrs(text) {
  const out = [];
  for (const part of (text || '').split(/[,;]\s*/)) {
    const p = part.trim();
    if (!p) continue;
    const m = /^(.*?)\s*<([^>]+)>$/.exec(p);
    if (m) out.push({ name: m[1].replace(/^"|"$/g, '').trim() || null, email: m[2].trim() });
    else out.push({ name: null, email: p });
  }
  return out;
}

function sanitizeFragment(html) {
  return DOMPurify.sanitize(html, { FORBID_TAGS: ['style', 'form', 'img', 'iframe'], FORBID_ATTR: ['style'] });
}

const $ = (id) => document.getElementById(id);
const KEEP = 'jmapgate.compose';

let ctx = null;            // {draftId, inReplyTo, references, attachments, dirty, saving}
let identities = [];      // Identity/get list (From choices)
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
    inReplyTo: ctx.inReplyTo, references: ctx.references,
    attachments: ctx.attachments.filter((a) => a.blobId)
      .map(({ name, type, size, blobId }) => ({ name, type, size, blobId })) }));
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

// Upload each picked file at once, with its own progress bar.
function addFiles() {
  for (const f of $('c-files').files) {
    const a = { name: f.name, type: f.type || 'application/octet-stream', size: f.size,
                blobId: null, progress: 0, error: null };
    a.uploading = jmap.upload(f, (p) => {
      a.progress = p;
      const bar = a.li && a.li.querySelector('progress');
      if (bar) bar.value = p;
    }).then((r) => { a.blobId = r.blobId; }, (e) => { a.error = e.message; })
      .finally(() => { a.uploading = null; showAttachments(); changed(); });
    ctx.attachments.push(a);
  }
  $('c-files').value = '';
  showAttachments();
}

function showAttachments() {
  const ul = $('c-attachments');
  ul.replaceChildren();
  ctx.attachments.forEach((a, i) => {
    const li = document.createElement('li');
    a.li = li;
    li.textContent = `${a.name} (${Math.ceil(a.size / 1024)} kB) `;
    if (a.uploading) {
      const bar = document.createElement('progress');
      bar.max = 1;
      bar.value = a.progress;
      bar.setAttribute('aria-label', 'Uploading ' + a.name);
      li.append(bar, ' ');
    }
    if (a.error) li.append(`(not uploaded: ${a.error}) `);
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
  identities = ids;
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
      references: restored.references || [], attachments: restored.attachments || [] });
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
    ctx.inReplyTo = email.messageId && email.messageId.length ? [email.messageId[0]] : null;
    ctx.references = [...(email.references || []), ...(email.messageId || [])];
    text = sig + quote(email, bodyOf(email));
  } else if (email && mode === 'draft') {
    // Carry on with a stored draft: it is replaced by the next save.
    ctx.draftId = email.id;
    ctx.inReplyTo = email.inReplyTo && email.inReplyTo.length ? email.inReplyTo : null;
    ctx.references = email.references || [];
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
    ctx.attachments = partsOf(email);
  } else if (email && mode === 'forward') {
    $('c-subject').value = 'Fwd: ' + (email.subject || '');
    text = sig + '\n\n---------- Forwarded message ----------\n' +
      `From: ${addrList(email.from)}\nDate: ${new Date(email.sentAt || email.receivedAt).toUTCString()}\n` +
      `Subject: ${email.subject || ''}\nTo: ${addrList(email.to)}\n\n` + bodyOf(email);
    ctx.attachments = partsOf(email);
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

// An original's attachments, by the blobIds of its parts (nothing downloaded).
function partsOf(email) {
  return (email.attachments || []).map((a) => ({ name: a.name || 'attachment', type: a.type,
    size: a.size, blobId: a.blobId }));
}

// The form as a JMAP Email for Email/set create (RFC 8621 section 4.6).
async function emailObject(mailbox) {
  const pending = ctx.attachments.filter((a) => a.uploading).map((a) => a.uploading);
  if (pending.length) {
    status('Waiting for attachments\u2026');
    await Promise.all(pending);
  }
  const f = fields();
  const ident = (identities.find((i) => i.id === f.identity) || identities[0]);
  const list = (t) => { const l = parseAddrs(t); return l.length ? l : null; };
  const e = {
    mailboxIds: { [mailbox]: true }, keywords: { $draft: true, $seen: true },
    to: list(f.to), cc: list(f.cc), bcc: list(f.bcc), subject: f.subject,
    bodyValues: { t: { value: f.text } }, textBody: [{ partId: 't', type: 'text/plain' }],
    attachments: ctx.attachments.filter((a) => a.blobId).map((a) => ({
      blobId: a.blobId, type: a.type || 'application/octet-stream', name: a.name, disposition: 'attachment' })),
  };
  if (ident && ident.email && ident.email.includes('@')) e.from = [{ name: ident.name || null, email: ident.email }];
  if (f.html) {
    e.bodyValues.h = { value: f.html };
    e.htmlBody = [{ partId: 'h', type: 'text/html' }];
  }
  if (ctx.inReplyTo) e.inReplyTo = ctx.inReplyTo;
  if (ctx.references && ctx.references.length) e.references = ctx.references;
  for (const k of ['to', 'cc', 'bcc']) if (!e[k]) delete e[k];
  return e;
}

function setError(r, id) {
  const err = (r.notCreated || {})[id];
  if (!err) return null;
  return `${err.type}${err.description ? ': ' + err.description : ''}` +
         (err.properties ? ` (${err.properties.join(', ')})` : '');
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
    const email = await emailObject(drafts);
    const sentAtts = ctx.attachments.filter((a) => a.blobId);
    const out = await jmap.request([
      ['Email/set', { create: { d: email }, destroy: ctx.draftId ? [ctx.draftId] : undefined }],
      ['Email/get', { ids: ['#d'], properties: ['attachments'], bodyProperties: ['blobId', 'name', 'type', 'size'] }],
    ]);
    const r = out[0][1];
    if (out[0][0] === 'error') throw new Error(r.type);
    if (!r.created || !r.created.d) throw new Error(setError(r, 'd') || 'not saved');
    ctx.draftId = r.created.d.id;
    // From now on the attachments are the new draft's parts (the old draft
    // is gone, and an upload lives only an hour).
    const got = out[1][0] === 'Email/get' && out[1][1].list[0];
    if (got && got.attachments && got.attachments.length === sentAtts.length) {
      got.attachments.forEach((a, i) => { sentAtts[i].blobId = a.blobId; });
    }
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
    const email = await emailObject(drafts);
    const onSuccess = { 'keywords/$draft': null };
    if (sent) { onSuccess['mailboxIds/' + drafts] = null; onSuccess['mailboxIds/' + sent] = true; }
    const [set, sub] = await jmap.calls([
      ['Email/set', { create: { m: email }, destroy: ctx.draftId ? [ctx.draftId] : undefined }],
      ['EmailSubmission/set', { create: { s: { identityId: $('c-identity').value, emailId: '#m' } },
        onSuccessUpdateEmail: { '#s': onSuccess } }],
    ]);
    if (!set.created || !set.created.m) throw new Error('draft not stored: ' + (setError(set, 'm') || ''));
    ctx.draftId = set.created.m.id;
    if (!sub.created || !sub.created.s) throw new Error(setError(sub, 's') || 'not sent');
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
