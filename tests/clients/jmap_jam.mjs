// Drive jmapgate with the npm JMAP client jmap-jam (a client none of us
// wrote). usage: node jmap_jam.mjs SESSION_URL TOKEN STEP [STATE]
//   STEP "list":    session -> inbox -> Email/query -> Email/get (+ download);
//   STEP "changes": Email/changes since STATE;
//   STEP "folders": Mailbox/set create (with a #reference), rename, destroy.
// Prints one JSON line for the Python test to check.
import JamClient from 'jmap-jam';

const [sessionUrl, token, step, since] = process.argv.slice(2);
const jam = new JamClient({ sessionUrl, bearerToken: token });
const out = {};
try {
  const accountId = await jam.getPrimaryAccount();
  out.accountId = accountId;
  if (step === 'list') {
    const [boxes] = await jam.api.Mailbox.query({ accountId, filter: { role: 'inbox' } });
    const inbox = boxes.ids[0];
    const [q] = await jam.api.Email.query({
      accountId, filter: { inMailbox: inbox }, sort: [{ property: 'receivedAt', isAscending: false }],
      limit: 5, calculateTotal: true,
    });
    const [g] = await jam.api.Email.get({
      accountId, ids: q.ids, properties: ['subject', 'from', 'receivedAt', 'blobId', 'keywords'],
    });
    out.total = q.total;
    out.ids = q.ids;
    out.state = g.state;
    out.emails = g.list;
    const res = await jam.downloadBlob({ accountId, blobId: g.list[0].blobId,
                                         mimeType: 'message/rfc822', fileName: 'm.eml' });
    out.downloadStatus = res.status;
    out.downloadBytes = (await res.arrayBuffer()).byteLength;
  } else if (step === 'folders') {
    const [c] = await jam.api.Mailbox.set({
      accountId, create: { a: { name: 'Jam Ordner \u00e9' }, b: { name: 'Kid', parentId: '#a' } },
    });
    out.created = c.created;
    out.notCreated = c.notCreated;
    const id = c.created.a.id;
    const [u] = await jam.api.Mailbox.set({ accountId, update: { [id]: { name: 'Jam Renamed' } } });
    out.updated = u.updated;
    const [g] = await jam.api.Mailbox.get({ accountId, ids: [id, c.created.b.id] });
    out.afterRename = g.list;
    const [d] = await jam.api.Mailbox.set({ accountId, destroy: [c.created.b.id, id] });
    out.destroyed = d.destroyed;
    out.notDestroyed = d.notDestroyed;
  } else {
    const [ch] = await jam.api.Email.changes({ accountId, sinceState: since });
    out.changes = ch;
  }
} catch (e) {
  out.error = String(e && e.message || e);
}
console.log(JSON.stringify(out));
