// The chat page: places new messages, appends streamed reply tokens as text, and sends on Enter.
// Tokens carry their offset in the reply (UTF-16 units, like String.length): text the page already
// shows is dropped, and a gap asks the server for the message again.
(function () {
  "use strict";

  function messages() { return document.getElementById("messages"); }

  function nearBottom(list) { return list.scrollHeight - list.scrollTop - list.clientHeight < 80; }

  function followBottom(list, wasNear) { if (list && wasNear) list.scrollTop = list.scrollHeight; }

  // Out-of-band swaps need a target: a message new to this page gets an empty placeholder first.
  function placeMessages(html) {
    const list = messages();
    if (!list || html.indexOf("msg-") < 0) return;
    const template = document.createElement("template");
    template.innerHTML = html;
    template.content.querySelectorAll("li.msg[id]").forEach(function (incoming) {
      if (document.getElementById(incoming.id)) return;
      const placeholder = document.createElement("li");
      placeholder.id = incoming.id;
      list.querySelectorAll(".msg-empty").forEach(function (empty) { empty.remove(); });
      list.appendChild(placeholder);
    });
  }

  function applyTokens(tokens, socket) {
    const stream = document.querySelector("#msg-" + tokens.action + " [data-stream]");
    if (!stream) return;  // not on this page, or already finished and rendered
    const shown = parseInt(stream.dataset.length, 10) || 0;
    const end = tokens.offset + tokens.text.length;
    if (tokens.offset > shown) {
      if (socket) socket.send(JSON.stringify({ resync: tokens.action }));
      return;
    }
    if (end <= shown) return;
    const list = messages();
    const wasNear = list && nearBottom(list);
    stream.appendChild(document.createTextNode(tokens.text.slice(shown - tokens.offset)));
    stream.dataset.length = String(end);
    followBottom(list, wasNear);
  }

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    if (!messages()) return;
    const message = event.detail.message;
    if (message.charAt(0) === "{") {
      event.preventDefault();
      let data;
      try { data = JSON.parse(message); } catch (error) { return; }
      if (data.tokens) applyTokens(data.tokens, event.detail.socketWrapper);
      return;
    }
    placeMessages(message);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!messages() || !event.detail.xhr) return;
    placeMessages(event.detail.serverResponse || "");
  });

  let wasNearBeforeSwap = true;
  document.addEventListener("htmx:wsAfterMessage", function () { followBottom(messages(), wasNearBeforeSwap); });
  document.addEventListener("htmx:afterSwap", function (event) {
    followBottom(messages(), true);
    const composer = document.getElementById("composer");
    if (composer && event.detail.target === composer) {
      const text = document.getElementById("id_text");
      if (text) text.focus();
    }
  });
  document.addEventListener("htmx:oobBeforeSwap", function () {
    const list = messages();
    wasNearBeforeSwap = !list || nearBottom(list);
  });

  document.addEventListener("keydown", function (event) {
    if (event.target.id !== "id_text" || event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    const form = event.target.form;
    if (form && event.target.value.trim()) form.requestSubmit();
  });

  document.addEventListener("DOMContentLoaded", function () {
    const list = messages();
    if (list) list.scrollTop = list.scrollHeight;
  });
})();
