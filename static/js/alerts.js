// Desktop alerts on the approval queue: a browser notification, and an optional beep, when a new
// action arrives over the live socket. The server decides which rows a reviewer receives; this file
// only notices rows that are new to the page.
(function () {
  "use strict";

  let audio = null;

  function $(selector, root) { return (root || document).querySelector(selector); }

  function supported() { return "Notification" in window; }

  function showState() {
    const box = $("[data-alerts]");
    if (!box) return;
    const button = $("[data-alerts-enable]", box);
    const state = $("[data-alerts-state]", box);
    if (!supported()) {
      button.hidden = true;
      state.textContent = "This browser cannot show desktop alerts.";
      return;
    }
    const permission = Notification.permission;
    button.hidden = permission !== "default";
    state.textContent = {
      granted: "Desktop alerts are on for new actions.",
      denied: "Desktop alerts are blocked in this browser's settings for this site.",
    }[permission] || "";
  }

  function soundOn() {
    const box = $("#alert-sound");
    return !!(box && box.checked);
  }

  // Browsers start audio only after a gesture on the page: make the context on the first one.
  function unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || !$("[data-alerts]")) return;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume();
  }

  function beep() {
    if (!audio || audio.state !== "running") return;
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    const now = audio.currentTime;
    oscillator.type = "sine";
    oscillator.frequency.setValueAtTime(880, now);
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.25);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(now);
    oscillator.stop(now + 0.3);
  }

  function announce(row) {
    if (soundOn()) beep();
    if (!supported() || Notification.permission !== "granted") return;
    const type = ($(".type", row) || {}).textContent || row.dataset.type || "action";
    const summary = (($(".summary", row) || {}).textContent || "").trim();
    const notification = new Notification((row.dataset.level || "").toUpperCase() + " " + type.trim() + " waits for review", {
      body: summary + (row.dataset.requester ? "\nrequested by " + row.dataset.requester : ""),
      tag: row.id,
      icon: ($("link[rel=icon]") || {}).href,
    });
    notification.onclick = function () {
      window.focus();
      notification.close();
      if (row.dataset.url) window.location.assign(row.dataset.url);
    };
  }

  // Capture phase: runs before the queue script places the incoming row, so "new" means new.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    if (!$("[data-alerts]")) return;
    const me = document.body.dataset.user;
    const template = document.createElement("template");
    template.innerHTML = event.detail.message;
    Array.from(template.content.children).forEach(function (child) {
      if (child.tagName !== "LI" || !child.id || child.id.indexOf("action-") !== 0) return;
      if (child.getAttribute("hx-swap-oob") === "delete" || document.getElementById(child.id)) return;
      if (child.dataset.requester === me) return;
      announce(child);
    });
  }, true);

  document.addEventListener("click", function (event) {
    unlockAudio();
    const button = event.target.closest && event.target.closest("[data-alerts-enable]");
    if (!button || !supported()) return;
    Notification.requestPermission().then(showState);
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "alert-sound" && event.target.checked) {
      unlockAudio();
      beep();
    }
  });

  document.addEventListener("DOMContentLoaded", showState);
  // A re-sync after reconnecting replaces the queue, these controls included.
  document.addEventListener("htmx:afterSettle", showState);
})();
