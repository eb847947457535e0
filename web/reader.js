// reader.js - the reading pane: one message, or a whole conversation.
// Text bodies are shown as text (textContent, never parsed as HTML); HTML
// bodies go through sanitize.js into a sandboxed srcdoc iframe (no
// allow-scripts, no allow-forms), sized to its content. Remote images stay
// blocked until "Show images" for that message; attachments link to their
// JMAP download URL; cid: images are rewritten to theirs.
import * as jmap from './jmap.js';
import { sanitize } from './sanitize.js';

export const DETAIL = ['id', 'threadId', 'mailboxIds', 'keywords', 'from', 'to', 'cc', 'bcc',
  'replyTo', 'subject', 'sentAt', 'receivedAt', 'messageId', 'inReplyTo', 'references',
  'textBody', 'htmlBody', 'attachments', 'bodyValues', 'hasAttachment', 'preview'];
const BODY_PROPS = ['partId', 'blobId', 'type', 'name', 'size', 'disposition', 'cid', 'charset'];

const allowed = new Set();          // message ids whose remote images the user allowed

export function addrList(list) {
  return (list || []).map((a) => (a.name ? `${a.name} <${a.email}>` : a.email)).join(', ');
}

function el(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v; else if (k in e) e[k] = v; else e.setAttribute(k, v);
  }
  e.append(...kids.filter((k) => k !== null && k !== undefined));
  return e;
}

function size(n) {
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(0) + ' kB';
  return (n / 1048576).toFixed(1) + ' MB';
}

export async function fetchEmails(ids) {
  const r = await jmap.call('Email/get', {
    ids, properties: DETAIL, bodyProperties: BODY_PROPS,
    fetchTextBodyValues: true, fetchHTMLBodyValues: true, maxBodyValueBytes: 2000000,
  });
  return r.list;
}

function bodyText(email, parts) {
  return parts.map((p) => (email.bodyValues[p.partId] || {}).value || '').join('\n');
}

// The iframe for one HTML body; grows to its content's height.
function htmlFrame(email, parts, onBlocked) {
  const cid = new Map();
  for (const a of email.attachments || []) {
    if (a.cid) cid.set(a.cid.replace(/^<|>$/g, ''), jmap.downloadUrl(a.blobId, a.name || 'image', a.type));
  }
  const html = parts.map((p) => {
    const v = (email.bodyValues[p.partId] || {}).value || '';
    return p.type === 'text/html' ? v
      : '<pre>' + v.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c])) + '</pre>';
  }).join('<hr>');
  const out = sanitize(html, { allowRemote: allowed.has(email.id), cid });
  const frame = el('iframe', { class: 'body-frame', title: 'Message body' });
  frame.setAttribute('sandbox', 'allow-same-origin allow-popups allow-popups-to-escape-sandbox');
  frame.setAttribute('referrerpolicy', 'no-referrer');
  frame.srcdoc = out.html;
  frame.addEventListener('load', () => {
    try {
      const d = frame.contentDocument;
      const fit = () => { frame.style.height = Math.min(d.documentElement.scrollHeight + 4, 20000) + 'px'; };
      fit();
      for (const img of d.images) img.addEventListener('load', fit);
    } catch { frame.style.height = '70vh'; }
  });
  onBlocked(out.blocked);
  return frame;
}

function renderOne(email, { onAllow, collapsed = false }) {
  const art = el('article', { class: 'message' + (collapsed ? ' collapsed' : ''), 'data-id': email.id });
  const head = el('header', { class: 'msg-head' },
    el('h3', { class: 'subject' }, email.subject || '(no subject)'),
    el('div', { class: 'from' }, el('strong', {}, 'From: '), addrList(email.from)),
    el('div', {}, el('strong', {}, 'To: '), addrList(email.to)),
    email.cc && email.cc.length ? el('div', {}, el('strong', {}, 'Cc: '), addrList(email.cc)) : null,
    el('div', { class: 'muted' }, new Date(email.sentAt || email.receivedAt).toLocaleString()));
  art.append(head);
  if (collapsed) {
    head.tabIndex = 0;
    head.setAttribute('role', 'button');
    head.setAttribute('aria-expanded', 'false');
    const open = () => { art.classList.remove('collapsed'); head.setAttribute('aria-expanded', 'true'); };
    head.addEventListener('click', open);
    head.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
  }
  const body = el('div', { class: 'msg-body' });
  const banner = el('div', { class: 'banner', hidden: true },
    el('span', {}, 'Remote images are blocked to protect your privacy. '),
    el('button', { type: 'button', class: 'allow-images', onclick: () => { allowed.add(email.id); onAllow(); } },
      'Show images'));
  const html = (email.htmlBody || []).filter((p) => p.type === 'text/html');
  if (html.length) {
    body.append(banner, htmlFrame(email, email.htmlBody, (n) => { banner.hidden = n === 0; }));
  } else {
    body.append(el('pre', { class: 'text-body' }, bodyText(email, email.textBody || [])));
  }
  art.append(body);
  const atts = (email.attachments || []).filter((a) => !a.cid || a.disposition === 'attachment');
  if (atts.length) {
    const ul = el('ul', { class: 'attachments', 'aria-label': 'Attachments' });
    for (const a of atts) {
      const name = a.name || 'attachment';
      ul.append(el('li', {}, el('a', { href: jmap.downloadUrl(a.blobId, name, a.type), download: name },
        `${name} (${size(a.size)})`)));
    }
    art.append(ul);
  }
  return art;
}

const key = (k) => el('span', { class: 'key' }, ` (${k})`);

// Show emails (one, or a conversation oldest first) in the pane.
export function render(pane, emails, actions) {
  pane.replaceChildren();
  const bar = el('div', { class: 'reader-bar', role: 'toolbar', 'aria-label': 'Reply' },
    el('button', { type: 'button', class: 'only-narrow', onclick: actions.back }, '\u2190 Back'),
    el('button', { type: 'button', onclick: () => actions.reply(last, false) }, 'Reply', key('r')),
    el('button', { type: 'button', onclick: () => actions.reply(last, true) }, 'Reply all', key('a')),
    el('button', { type: 'button', onclick: () => actions.forward(last) }, 'Forward', key('f')));
  const last = emails[emails.length - 1];
  if (last.keywords && last.keywords.$draft) {
    bar.append(el('button', { type: 'button', class: 'primary', onclick: () => actions.editDraft(last) }, 'Edit draft'));
  }
  pane.append(bar);
  emails.forEach((e, i) => {
    pane.append(renderOne(e, {
      collapsed: i < emails.length - 1,
      onAllow: () => render(pane, emails, actions),
    }));
  });
}
