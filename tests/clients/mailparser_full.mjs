// Parse raw messages with npm mailparser (an independent MIME parser) and
// print everything test_jmap_email_create.py compares: subject, addresses,
// text, html, and each attachment's name, type, cid and bytes (base64).
// usage: node mailparser_full.mjs FILE...   -> one JSON array
import { readFile } from 'node:fs/promises';
import { simpleParser } from 'mailparser';

const one = (a) => ({ name: a.name || null, email: a.address });
const values = (f) => (f ? [].concat(f).flatMap((t) => t.value) : []);
const addrs = (f) => values(f).flatMap((a) => (a.group ? a.group : [a])).map(one);
// RFC 5322 groups as JMAP's EmailAddressGroup[]: a run of addresses outside
// any group is one group named null.
const groups = (f) => values(f).reduce((out, a) => {
  const last = out[out.length - 1];
  if (a.group) out.push({ name: a.name || null, addresses: a.group.map(one) });
  else if (last && last.name === null) last.addresses.push(one(a));
  else out.push({ name: null, addresses: [one(a)] });
  return out;
}, []);
const out = [];
for (const file of process.argv.slice(2)) {
  const m = await simpleParser(await readFile(file), { skipTextToHtml: true, keepCidLinks: true });
  out.push({
    file,
    subject: m.subject ?? null,
    from: addrs(m.from), to: addrs(m.to), cc: addrs(m.cc),
    toGroups: groups(m.to), ccGroups: groups(m.cc),
    messageId: m.messageId ?? null,
    text: m.text ?? null,
    html: m.html === false ? null : (m.html ?? null),
    attachments: m.attachments.map((a) => ({
      filename: a.filename ?? null, type: a.contentType, cid: a.contentId ?? null,
      disposition: a.contentDisposition ?? null, content: a.content.toString('base64'),
    })),
  });
}
console.log(JSON.stringify(out));
