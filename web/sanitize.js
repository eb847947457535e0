// sanitize.js - an HTML mail body made safe to show.
//
// Three layers, each enough on its own against script:
// 1. DOMPurify removes scripts, event handlers, javascript: URLs, forms,
//    frames, objects, <meta>, <link> and <base>; our hook keeps only http(s),
//    mailto and in-page link targets, rewrites cid: images to the part's
//    JMAP download URL, and (until the user allows them) takes every remote
//    image, srcset and CSS url() out.
// 2. The result goes into an <iframe sandbox> without allow-scripts (and
//    without allow-forms / allow-top-navigation), as srcdoc.
// 3. The srcdoc starts with a <meta> Content-Security-Policy: no script,
//    no connections, images only from cid parts (and http(s) once allowed),
//    no remote fonts or styles. It adds to the page's own policy, which
//    the srcdoc document inherits.
import DOMPurify from './vendor/purify.es.js';

const REMOTE = /^\s*(https?:)?\/\//i;
const CSS_URL = /url\(\s*(['"]?)(.*?)\1\s*\)/gi;

function cssWithoutRemote(css, st) {
  return css.replace(CSS_URL, (m, q, url) => {
    if (REMOTE.test(url)) { st.blocked++; return 'none'; }
    if (/^\s*(data:image\/|cid:)/i.test(url)) return m;
    return 'none';
  }).replace(/@import[^;]*;?/gi, '');
}

// html: the message's HTML; opts: {allowRemote, cid: Map cid -> URL}.
// Returns {html (a full srcdoc document), blocked (remote items held back)}.
export function sanitize(html, { allowRemote = false, cid = new Map() } = {}) {
  const st = { blocked: 0 };
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.hasAttribute('href')) {
      const h = node.getAttribute('href').trim();
      if (/^(https?:|mailto:)/i.test(h)) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      } else if (!h.startsWith('#')) {
        node.removeAttribute('href');
      }
    }
    for (const a of ['src', 'background', 'poster']) {
      if (!node.hasAttribute(a)) continue;
      const v = node.getAttribute(a).trim();
      const m = /^cid:(.*)$/i.exec(v);
      if (m) {
        const url = cid.get(m[1].replace(/^<|>$/g, ''));
        if (url) node.setAttribute(a, url); else node.removeAttribute(a);
      } else if (REMOTE.test(v)) {
        if (!allowRemote) { node.removeAttribute(a); node.setAttribute('data-blocked', ''); st.blocked++; }
        else if (v.startsWith('//')) node.setAttribute(a, 'https:' + v);
      } else if (!/^data:image\/(png|gif|jpe?g|webp);/i.test(v)) {
        node.removeAttribute(a);
      }
    }
    if (node.hasAttribute('srcset')) {
      if (!allowRemote) st.blocked++;
      node.removeAttribute('srcset');
    }
    if (node.hasAttribute('style') && !allowRemote) {
      node.setAttribute('style', cssWithoutRemote(node.getAttribute('style'), st));
    }
  });
  DOMPurify.addHook('uponSanitizeElement', (node, data) => {
    if (data.tagName === 'style' && !allowRemote) node.textContent = cssWithoutRemote(node.textContent, st);
  });
  let clean;
  try {
    clean = DOMPurify.sanitize(html, {
      FORCE_BODY: true,
      FORBID_TAGS: ['form', 'input', 'button', 'select', 'textarea', 'meta', 'link', 'base',
                    'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'svg', 'math',
                    'audio', 'video', 'source', 'track'],
      FORBID_ATTR: ['action', 'formaction', 'ping', 'srcdoc'],
      ALLOW_DATA_ATTR: false,
      ADD_ATTR: ['target', 'data-blocked'],
    });
  } finally {
    DOMPurify.removeAllHooks();
  }
  const img = allowRemote ? "'self' data: https: http:" : "'self' data:";
  const csp = `default-src 'none'; img-src ${img}; style-src 'unsafe-inline'; font-src data:; ` +
              "form-action 'none'; base-uri 'none'; script-src 'none'; connect-src 'none'";
  const doc = '<!doctype html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    '<meta name="referrer" content="no-referrer">' +
    '<style>html,body{margin:0;padding:8px;font:15px/1.45 system-ui,sans-serif;' +
    'overflow-wrap:anywhere;color:#222;background:#fff}img{max-width:100%;height:auto}' +
    'pre{white-space:pre-wrap}</style></head><body>' + clean + '</body></html>';
  return { html: doc, blocked: st.blocked };
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
