// Parse raw messages with npm mailparser (an independent MIME parser) and
// print what the Python test compares with Email/get.
// usage: node mailparser_dump.mjs FILE...   -> one JSON array
import { readFile } from 'node:fs/promises';
import { simpleParser } from 'mailparser';

const out = [];
for (const file of process.argv.slice(2)) {
  const m = await simpleParser(await readFile(file));
  out.push({
    file,
    subject: m.subject ?? null,
    from: (m.from?.value ?? []).map((a) => a.address),
    to: (m.to ? [].concat(m.to).flatMap((t) => t.value) : []).map((a) => a.address),
    messageId: m.messageId ?? null,
    text: m.text ?? null,
    attachments: m.attachments.filter((a) => a.contentDisposition === 'attachment')
                              .map((a) => a.filename ?? null),
  });
}
console.log(JSON.stringify(out));
