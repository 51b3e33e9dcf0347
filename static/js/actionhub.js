// ActionHub pages: live-socket upkeep, queue ordering, ticking clocks, bulk selection and keyboard shortcuts.
// The server renders every fragment; this file only places rows, keeps clocks honest and maps keys.
(function () {
  "use strict";

  const CLOSE_LOGGED_OUT = 4001;
  const CLOSE_FORBIDDEN = 4003;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.from((root || document).querySelectorAll(selector)); }

  function flash(message, level) {
    const box = $("#flash");
    if (!box) return;
    box.className = "flash flash-" + (level || "info");
    box.textContent = message;
  }

  // ---- clocks ---------------------------------------------------------------------------------

  function words(ms) {
    let seconds = Math.max(0, Math.floor(ms / 1000));
    const days = Math.floor(seconds / 86400); seconds -= days * 86400;
    const hours = Math.floor(seconds / 3600); seconds -= hours * 3600;
    const minutes = Math.floor(seconds / 60); seconds -= minutes * 60;
    if (days) return days + "d " + hours + "h";
    if (hours) return hours + "h " + minutes + "m";
    if (minutes) return minutes + "m " + seconds + "s";
    return seconds + "s";
  }

  function tick() {
    const now = Date.now();
    $$("[data-until]").forEach(function (el) {
      const left = Date.parse(el.dataset.until) - now;
      el.textContent = left > 0 ? words(left) + " left" : "expiring…";
      el.classList.toggle("urgent", left < 5 * 60 * 1000);
    });
    $$("[data-since]").forEach(function (el) {
      el.textContent = words(now - Date.parse(el.dataset.since)) + " ago";
    });
  }

  // ---- the queue ------------------------------------------------------------------------------

  const beyondPage = new Set();

  function queueList() { return $("#queue-list"); }

  function rows() { return $$("#queue-list > li.row"); }

  function refreshQueueState() {
    const list = queueList();
    if (!list) return;
    const me = document.body.dataset.user;
    rows().forEach(function (row) {
      row.classList.toggle("own", row.dataset.requester === me);
    });
    const empty = $("#queue-empty");
    if (empty) empty.hidden = rows().some(function (row) { return !row.hidden; });
    const counts = $$("#queue-counts .badge").reduce(function (sum, badge) { return sum + (parseInt(badge.textContent, 10) || 0); }, 0);
    document.title = (counts ? "(" + counts + ") " : "") + "Approvals · ActionHub";
    syncPicks();
  }

  // htmx swaps rows out-of-band by id; a row new to this page first gets an empty placeholder at
  // its place in the order (soonest to expire first), so the swap has a target.
  function placeRow(incoming) {
    const list = queueList();
    if (!list || document.getElementById(incoming.id)) return;
    const placeholder = document.createElement("li");
    placeholder.id = incoming.id;
    placeholder.hidden = true;
    const key = incoming.dataset.sort;
    if (!key) { list.appendChild(placeholder); return; }
    const later = rows().find(function (row) { return row.dataset.sort && row.dataset.sort > key; });
    const more = $("#load-more");
    if (later) list.insertBefore(placeholder, later);
    else if (more) {
      // It sorts after the loaded page: "Load more" will bring it, so keep it out of sight.
      beyondPage.add(incoming.id);
      list.insertBefore(placeholder, more);
    } else list.appendChild(placeholder);
  }

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    const template = document.createElement("template");
    template.innerHTML = event.detail.message;
    Array.from(template.content.children).forEach(function (child) {
      if (child.tagName === "LI" && child.id && child.id.indexOf("action-") === 0) placeRow(child);
    });
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    const empty = $("#mine-empty");  // My requests: the first row of a new action arrived
    if (empty && $("#mine-list > li.row")) empty.hidden = true;
    beyondPage.forEach(function (id) {
      const row = document.getElementById(id);
      if (row) row.hidden = true; else beyondPage.delete(id);
    });
    refreshQueueState();
    tick();
  });

  document.addEventListener("htmx:afterSwap", function () {
    // "Load more" fetched the current state of the next page: rows that arrived live beyond the
    // old page are either in it now or still beyond it, so the hidden copies go.
    beyondPage.forEach(function (id) {
      const rowsWithId = $$("#queue-list > li").filter(function (row) { return row.id === id; });
      if (rowsWithId.length && rowsWithId[0].hidden) rowsWithId[0].remove();
    });
    beyondPage.clear();
    refreshQueueState();
    tick();
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (socketOpen) liveState("live", true);  // a re-sync replaced the indicator with the server's
  });

  // ---- bulk selection -------------------------------------------------------------------------
  // A selected row keeps the payload hash it showed when it was picked: if the action is edited
  // meanwhile, the bulk decision quotes the old hash and the server refuses that row.

  const picked = new Map();
  const rowResults = new Map();
  let lastPicked = null;

  function pickBox(row) { return $(".pick", row); }

  function shown(row) { return row.id.slice("action-".length) + ":" + row.dataset.hash; }

  function setPicked(row, on) {
    if (!pickBox(row)) return;
    if (on && !picked.has(row.id)) picked.set(row.id, shown(row));
    if (!on) picked.delete(row.id);
  }

  function syncPicks() {
    const list = queueList();
    if (!list) return;
    const present = new Set();
    rows().forEach(function (row) {
      present.add(row.id);
      const box = pickBox(row);
      if (!box) return;
      const on = picked.has(row.id);
      box.checked = on;
      box.value = on ? picked.get(row.id) : shown(row);
      row.classList.toggle("picked", on);
      const note = $(".row-result", row);
      const result = rowResults.get(row.id);
      if (note) {
        note.hidden = !result;
        note.textContent = result ? result.detail : "";
        note.classList.toggle("refused", !!result && result.status === "refused");
      }
    });
    picked.forEach(function (_value, id) { if (!present.has(id)) picked.delete(id); });
    const visible = rows().filter(function (row) { return !row.hidden; });
    const all = $("#pick-all");
    if (all) {
      const count = visible.filter(function (row) { return picked.has(row.id); }).length;
      all.checked = visible.length > 0 && count === visible.length;
      all.indeterminate = count > 0 && count < visible.length;
    }
    const label = $("#bulk-count");
    if (label) label.textContent = picked.size ? picked.size + " selected" : "none selected";
    $$("#bulk-form [data-bulk]").forEach(function (button) { button.disabled = picked.size === 0; });
    // On a phone the bulk bar is folded away: picking a row unfolds what it is picked for.
    const bulkTools = $("#bulk-tools");
    if (bulkTools && picked.size) bulkTools.open = true;
  }

  function pickRange(from, to, on) {
    const visible = rows().filter(function (row) { return !row.hidden; });
    const a = visible.indexOf(from);
    const b = visible.indexOf(to);
    if (a < 0 || b < 0) { setPicked(to, on); return; }
    visible.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (row) { setPicked(row, on); });
  }

  function togglePick(row, shift) {
    const on = !picked.has(row.id);
    const anchor = lastPicked && document.getElementById(lastPicked);
    if (shift && anchor) pickRange(anchor, row, on); else setPicked(row, on);
    lastPicked = row.id;
    syncPicks();
  }

  document.addEventListener("click", function (event) {
    const box = event.target.closest && event.target.closest("#queue-list .pick");
    if (!box) return;
    const row = box.closest("li.row");
    box.checked = picked.has(row.id);  // the selection decides; togglePick flips it
    togglePick(row, event.shiftKey);
  });

  document.addEventListener("change", function (event) {
    if (event.target.id !== "pick-all") return;
    const on = event.target.checked;
    rows().filter(function (row) { return !row.hidden; }).forEach(function (row) { setPicked(row, on); });
    syncPicks();
  });

  document.addEventListener("htmx:configRequest", function (event) {
    const form = event.detail.elt;
    if (!form || form.id !== "bulk-form" || event.detail.path !== form.getAttribute("hx-post")) return;
    const data = event.detail.formData;
    const decision = data ? data.get("decision") : event.detail.parameters.decision;
    const reason = $("#bulk-reason");
    if (!picked.size) {
      event.preventDefault();
      flash("Select at least one action first (x or the checkboxes).", "error");
    } else if (decision === "reject" && !reason.value.trim()) {
      event.preventDefault();
      flash("Say why you reject them: the requesters read this reason.", "error");
      reason.focus();
    } else if (decision === "approve" && pickedTakingTwoSteps()) {
      event.preventDefault();
      setTimeout(function () { askBulkApproval(form); }, 0);  // once htmx has dropped the cancelled request
    }
  });

  // Approving a selection with irreversible, CRITICAL or known-to-fail rows takes the same second
  // step as one such row: the server lists them (summary, reversibility, what changes) in a dialog
  // whose form sends the selection again, confirmed. Without it the server refuses those rows.
  function pickedTakingTwoSteps() {
    return Array.from(picked.keys()).some(function (id) {
      const row = document.getElementById(id);
      return row && row.dataset.confirm && !row.classList.contains("own");
    });
  }

  function askBulkApproval(form) {
    const dialog = $("#bulk-approve-dialog");
    const body = $("#bulk-approve-body");
    if (!dialog || !body) return;
    body.innerHTML = "";
    htmx.ajax("POST", dialog.dataset.confirmUrl, { source: form, target: body, swap: "innerHTML" }).then(function () {
      if (!$("form", body)) { flash(body.textContent.trim() || "Could not check the selection.", "error"); return; }
      dialog.showModal();
      const button = $("[data-confirm-approve]", body);
      if (button) button.focus();
      dialog.onclose = function () { body.innerHTML = ""; };
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "bulk-results") return;
    const results = $$("#bulk-results [data-result-for]");
    if (!results.length) return;
    rowResults.clear();
    results.forEach(function (item) {
      rowResults.set("action-" + item.dataset.resultFor, { status: item.dataset.status, detail: item.dataset.detail });
    });
    picked.clear();
    lastPicked = null;
    $("#bulk-reason").value = "";
    syncPicks();
  });

  // ---- the live socket ------------------------------------------------------------------------

  let opened = 0;

  // Retry soon after a restart, then every few seconds (htmx's default grows to a minute).
  htmx.config.wsReconnectDelay = function (retryCount) {
    return Math.min(5000, 250 * Math.pow(2, retryCount)) * (0.5 + Math.random() / 2);
  };

  let socketOpen = false;

  function liveState(text, ok) {
    socketOpen = !!ok;
    const el = $("#live-state");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("ok", !!ok);
  }

  function resync() {
    const live = $("#live");
    const target = live && live.dataset.resync;
    if (!target || !$(target)) return;
    htmx.ajax("GET", window.location.pathname + window.location.search, { target: target, select: target, swap: "outerHTML" });
  }

  function checkSession() {
    // A refused socket usually means the session ended: follow the page to the login form.
    fetch(window.location.href, { credentials: "same-origin", redirect: "manual", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 403 || response.status === 404) window.location.reload();
      })
      .catch(function () { /* server down: the socket keeps retrying */ });
  }

  document.addEventListener("htmx:wsOpen", function () {
    opened += 1;
    liveState("live", true);
    if (opened > 1) resync();  // missed events while away: fetch the current state once
  });

  document.addEventListener("htmx:wsClose", function (event) {
    const code = event.detail.event && event.detail.event.code;
    liveState("reconnecting…", false);
    if (code === CLOSE_LOGGED_OUT || code === CLOSE_FORBIDDEN || code === 1006) checkSession();
  });

  // ---- keyboard -------------------------------------------------------------------------------

  function current() { return $("#queue-list > li.row.current"); }

  function select(row) {
    if (!row) return;
    rows().forEach(function (other) { other.classList.remove("current"); other.removeAttribute("aria-current"); });
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    row.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const visible = rows().filter(function (row) { return !row.hidden; });
    if (!visible.length) return;
    const index = visible.indexOf(current());
    const next = index < 0 ? visible[0] : visible[Math.min(visible.length - 1, Math.max(0, index + step))];
    select(next);
  }

  function decide(row, approve, reason) {
    if (row.classList.contains("own")) {
      flash("You requested this action, so another reviewer must decide it.", "error");
      return;
    }
    const values = { decision: approve ? "approve" : "reject", payload_hash: row.dataset.hash, reason: reason || "", from: "queue" };
    htmx.ajax("POST", row.dataset.decide, { values: values, swap: "none", source: row });
  }

  function askReason(row) {
    const dialog = $("#reject-dialog");
    if (!dialog) return;
    const reason = $("#reject-reason");
    const error = $("[data-reject-error]", dialog);
    $("[data-reject-summary]", dialog).textContent = ($(".summary", row) || {}).textContent || "";
    reason.value = "";
    error.hidden = true;
    dialog.returnValue = "";
    dialog.showModal();
    reason.focus();
    dialog.onclose = function () {
      if (dialog.returnValue === "reject") decide(row, false, reason.value.trim());
      select(row);
    };
  }

  // An irreversible, CRITICAL or known-to-fail row is approved in a second step: the server's own
  // confirmation (summary, reversibility, what changes) in a dialog, submitted from there.
  function askApproval(row) {
    const dialog = $("#approve-dialog");
    const body = $("#approve-dialog-body");
    if (!dialog || !body) return;
    body.innerHTML = "";
    htmx.ajax("GET", row.dataset.confirm, { target: body, swap: "innerHTML", source: row }).then(function () {
      if (!$("form", body)) { select(row); return; }  // refused: the flash says why
      dialog.showModal();
      const button = $("[data-confirm-approve]", body);
      if (button) button.focus();
      dialog.onclose = function () { body.innerHTML = ""; select(row); };
    });
  }

  function approveKey(row) {
    if (row.classList.contains("own")) decide(row, true);  // refused with the reason at once
    else if (row.dataset.confirm) askApproval(row);
    else decide(row, true);
  }

  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("[data-confirm-cancel]")) return;
    const dialog = event.target.closest("dialog");
    if (dialog) dialog.close();
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const elt = event.detail.elt;
    const dialog = elt && elt.closest && elt.closest("#approve-dialog, #bulk-approve-dialog");
    if (dialog && elt.tagName === "FORM" && dialog.open) dialog.close();
  });

  document.addEventListener("submit", function (event) {
    if (event.target.id !== "reject-form") return;
    const submitter = event.submitter;
    if (submitter && submitter.value === "reject" && !$("#reject-reason").value.trim()) {
      event.preventDefault();
      $("[data-reject-error]").hidden = false;
      $("#reject-reason").focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    if (document.querySelector("dialog[open]")) return;
    if (!queueList()) return;
    const row = current();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter": if (row && event.target === row) window.location.assign(row.dataset.url); else return; break;
      case "a": if (row) approveKey(row); else return; break;
      case "r": if (row) askReason(row); else return; break;
      case "x": if (row) togglePick(row, event.shiftKey); else return; break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    const row = event.target.closest && event.target.closest("#queue-list > li.row");
    if (row && !event.target.closest("a")) select(row);
  });

  document.addEventListener("change", function (event) {
    const form = event.target.closest && event.target.closest("form.filters");
    if (form) form.requestSubmit();
  });

  document.addEventListener("DOMContentLoaded", function () {
    refreshQueueState();
    tick();
    setInterval(tick, 1000);
  });
})();
