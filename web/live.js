// live.js - one EventSource per tab on the JMAP eventSourceUrl (every folder
// of the account), and the connection indicator: live / reconnecting /
// offline. A StateChange only says "something changed": the app then asks
// for the delta from the states it holds (Email/changes, Mailbox/changes),
// so a missed or replayed event, or a `resync`, costs nothing but that call.
// Reconnects carry the last event id (the browser sends Last-Event-ID
// itself; a new EventSource after a failure passes ?lastEventId=), and every
// (re)open triggers a catch-up, which is what brings a tab back from offline.

export class Live {
  constructor(url, { onChange, onStatus, onDown }) {
    this.url = url;
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.onDown = onDown || (() => {});
    this.es = null;
    this.lastId = null;
    this.timer = 0;
    this.backoff = 1000;
    this.opened = false;
    this.stopped = false;
    // Offline: close the stream (the browser may keep a dead one open);
    // online: reopen it with the last event id, and its open catches up.
    this.online = () => { this.status(); this.connect(); };
    this.offline = () => {
      if (this.es) { this.es.close(); this.es = null; }
      clearTimeout(this.timer);
      this.status('offline');
    };
    addEventListener('online', this.online);
    addEventListener('offline', this.offline);
  }

  start() { this.connect(); }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
    removeEventListener('online', this.online);
    removeEventListener('offline', this.offline);
  }

  status(s) {
    if (!s) s = !navigator.onLine ? 'offline' : (this.es && this.es.readyState === 1 ? 'live' : 'reconnecting');
    this.onStatus(s);
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.es && this.es.readyState !== 2) return;       // open or retrying by itself
    let url = this.url;
    if (this.lastId) url += (url.includes('?') ? '&' : '?') + 'lastEventId=' + encodeURIComponent(this.lastId);
    const es = new EventSource(url, { withCredentials: true });
    this.es = es;
    this.status(navigator.onLine ? 'reconnecting' : 'offline');
    es.onopen = () => {
      this.backoff = 1000;
      this.status('live');
      this.onChange({ reason: this.opened ? 'reconnect' : 'open' });
      this.opened = true;
    };
    const seen = (ev) => { if (ev.lastEventId) this.lastId = ev.lastEventId; };
    es.addEventListener('state', (ev) => {
      seen(ev);
      let data = null;
      try { data = JSON.parse(ev.data); } catch { /* ignore */ }
      this.onChange({ reason: 'state', data });
    });
    es.addEventListener('resync', (ev) => { seen(ev); this.onChange({ reason: 'resync' }); });
    es.addEventListener('ping', () => this.status('live'));
    es.onerror = () => {
      if (es.readyState === 2) {
        // The browser gave up (HTTP error or offline): retry ourselves, with backoff.
        // The stream also ends when the login expires: onDown lets the app
        // find out (a 401 on its next call asks for the password).
        this.es = null;
        this.status();
        if (navigator.onLine) this.onDown();
        this.timer = setTimeout(() => this.connect(), navigator.onLine ? this.backoff : 30000);
        this.backoff = Math.min(this.backoff * 2, 30000);
      } else {
        this.status();
      }
    };
  }
}
