// list.js - a virtualised list: one absolutely positioned element per
// visible row (plus a few above and below), over a spacer as tall as all the
// rows. Scrolling a 20,000-row folder keeps ~40 rows in the DOM; rows are
// reused by index and re-rendered only when their data changes. Data comes
// from the caller: render(row, index) draws what is known and
// need(from, to) is called (debounced while scrolling) with the range of
// indexes on screen, so only what is visible is fetched.
//
// Accessibility: the container is a listbox that keeps the focus; the active
// row is named by aria-activedescendant, and each row carries
// aria-setsize/aria-posinset, so a screen reader knows where it is.

const OVERSCAN = 8;

export class VirtualList {
  constructor(el, { rowHeight, render, need }) {
    this.el = el;
    this.rowHeight = rowHeight;
    this.render = render;
    this.need = need;
    this.count = 0;
    this.rows = new Map();            // index -> element
    this.active = -1;
    this.spacer = document.createElement('div');
    this.spacer.className = 'spacer';
    el.append(this.spacer);
    this.raf = 0;
    this.needTimer = 0;
    el.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(el);
  }

  setRowHeight(h) {
    if (h === this.rowHeight) return;
    this.rowHeight = h;
    this.dropRows(0);
    this.setCount(this.count, true);
  }

  // A new count keeps the rows still in range (same elements, so a row
  // under the pointer or being dragged survives a push) and repaints them.
  setCount(n, force = false) {
    if (n === this.count && !force) return;
    this.count = n;
    this.spacer.style.height = n * this.rowHeight + 'px';
    this.dropRows(n);
    for (const row of this.rows.values()) row.setAttribute('aria-setsize', n);
    if (this.active >= n) this.active = n - 1;
    this.update();
    this.refresh();
  }

  dropRows(from) {
    for (const [i, row] of this.rows) {
      if (i >= from) { row.remove(); this.rows.delete(i); }
    }
  }

  schedule() {
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.update(); });
  }

  range() {
    const h = this.el.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.el.scrollTop / this.rowHeight));
    const last = Math.min(this.count - 1, Math.ceil((this.el.scrollTop + h) / this.rowHeight));
    return [first, last];
  }

  update() {
    const [first, last] = this.range();
    const from = Math.max(0, first - OVERSCAN);
    const to = Math.min(this.count - 1, last + OVERSCAN);
    for (const [i, row] of this.rows) {
      if (i < from || i > to) { row.remove(); this.rows.delete(i); }
    }
    for (let i = from; i <= to; i++) {
      let row = this.rows.get(i);
      if (!row) {
        row = document.createElement('div');
        row.className = 'row';
        row.setAttribute('role', 'option');
        row.id = 'row-' + i;
        row.dataset.index = i;
        row.style.top = i * this.rowHeight + 'px';
        row.style.height = this.rowHeight + 'px';
        row.setAttribute('aria-setsize', this.count);
        row.setAttribute('aria-posinset', i + 1);
        this.rows.set(i, row);
        this.el.append(row);
        this.paint(i);
      }
    }
    // Fetch only once scrolling pauses, so a fast scroll to the bottom
    // does not ask for every page it flew past.
    clearTimeout(this.needTimer);
    this.needTimer = setTimeout(() => {
      const [f, l] = this.range();
      if (l >= f) this.need(Math.max(0, f - OVERSCAN), Math.min(this.count - 1, l + OVERSCAN));
    }, 60);
  }

  paint(i) {
    const row = this.rows.get(i);
    if (!row) return;
    row.classList.toggle('active', i === this.active);
    this.render(row, i);
  }

  // Re-render every row on screen (data changed).
  refresh() { for (const i of this.rows.keys()) this.paint(i); }

  setActive(i, scroll = true) {
    if (this.count === 0) { this.active = -1; this.el.removeAttribute('aria-activedescendant'); return; }
    i = Math.max(0, Math.min(this.count - 1, i));
    const old = this.active;
    this.active = i;
    if (scroll) this.scrollTo(i);
    this.update();
    this.paint(old);
    this.paint(i);
    this.el.setAttribute('aria-activedescendant', 'row-' + i);
  }

  scrollTo(i) {
    const top = i * this.rowHeight;
    const h = this.el.clientHeight;
    if (top < this.el.scrollTop) this.el.scrollTop = top;
    else if (top + this.rowHeight > this.el.scrollTop + h) this.el.scrollTop = top + this.rowHeight - h;
  }

  indexOf(el) {
    const row = el && el.closest('.row');
    return row ? Number(row.dataset.index) : -1;
  }
}
