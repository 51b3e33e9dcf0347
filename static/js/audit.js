// Audit history: entries that arrive live go to their place by seq (newest first), once each.
(function () {
  "use strict";

  function list() { return document.getElementById("audit-list"); }

  function settle() {
    const box = list();
    if (!box) return;
    const seen = new Set();
    const entries = Array.from(box.querySelectorAll(":scope > li.entry"));
    entries.forEach(function (entry) {
      if (seen.has(entry.id)) entry.remove(); else seen.add(entry.id);
    });
    const kept = Array.from(box.querySelectorAll(":scope > li.entry"));
    const sorted = kept.slice().sort(function (a, b) { return Number(b.dataset.seq) - Number(a.dataset.seq); });
    if (sorted.some(function (entry, index) { return entry !== kept[index]; })) {
      const more = document.getElementById("load-more");
      sorted.forEach(function (entry) { box.insertBefore(entry, more); });
    }
    const empty = document.getElementById("audit-empty");
    if (empty) empty.hidden = kept.length > 0;
  }

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    if (!list()) return;
    const template = document.createElement("template");
    template.innerHTML = event.detail.message;
    template.content.querySelectorAll("li.entry").forEach(function (entry) {
      const existing = document.getElementById(entry.id);
      if (existing) existing.remove();  // the fresh copy replaces it
    });
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    const box = list();
    if (!box) return;
    const first = box.querySelector(":scope > li.entry");
    if (first) first.classList.add("fresh");
    settle();
  });
})();
