// mime.js - build an RFC 5322 message (UTF-8, base64 bodies, RFC 2047
// headers, RFC 2231 file names) from what the compose form holds. Used to
// store drafts and send via Email/import + EmailSubmission/set: the gateway
// stores the bytes exactly as built here.

const enc = new TextEncoder();

function b64bytes(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/.{76}/g, '$&\r\n');
}

function word(s) {
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7e]*$/.test(s)) return s;
  return '=?UTF-8?B?' + b64bytes(enc.encode(s)).replace(/\r\n/g, '') + '?=';
}

function addr(a) {
  if (!a.name) return a.email;
  const n = /^[\w .'-]*$/.test(a.name) ? `"${a.name}"` : word(a.name);
  return `${n} <${a.email}>`;
}

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

function header(name, value) {
  return value ? `${name}: ${value}\r\n` : '';
}

function boundary() {
  return '=_jg_' + crypto.getRandomValues(new Uint32Array(3)).join('');
}

function textPart(type, text) {
  return `Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
         b64bytes(enc.encode(text.replace(/\r?\n/g, '\r\n'))) + '\r\n';
}

function multipart(sub, parts) {
  const b = boundary();
  return `Content-Type: multipart/${sub}; boundary="${b}"\r\n\r\n` +
         parts.map((p) => `--${b}\r\n${p}`).join('') + `--${b}--\r\n`;
}

// m: {from, to, cc, bcc ([{name,email}]), subject, text, html (or null),
//     inReplyTo, references ([ids]), attachments: [{name, type, bytes}]}
// Returns a Blob of type message/rfc822.
export function build(m) {
  let body = m.html ? multipart('alternative', [textPart('text/plain', m.text), textPart('text/html', m.html)])
    : textPart('text/plain', m.text);
  if (m.attachments.length) {
    const atts = m.attachments.map((a) => {
      const fname = `filename*=UTF-8''${encodeURIComponent(a.name)}`;
      return `Content-Type: ${a.type || 'application/octet-stream'}; name="${word(a.name)}"\r\n` +
             `Content-Disposition: attachment; ${fname}\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
             b64bytes(a.bytes) + '\r\n';
    });
    body = multipart('mixed', [body, ...atts]);
  }
  const domain = (m.from[0] && m.from[0].email.split('@')[1]) || 'localhost';
  const id = `<${crypto.randomUUID()}@${domain}>`;
  const list = (l) => l.map(addr).join(', ');
  const head = header('From', list(m.from)) + header('To', list(m.to)) + header('Cc', list(m.cc)) +
    header('Bcc', list(m.bcc)) + header('Subject', word(m.subject || '')) +
    header('Date', new Date().toUTCString().replace('GMT', '+0000')) + header('Message-ID', id) +
    header('In-Reply-To', m.inReplyTo) + header('References', (m.references || []).join(' ')) +
    'MIME-Version: 1.0\r\n';
  return new Blob([head + body], { type: 'message/rfc822' });
}
