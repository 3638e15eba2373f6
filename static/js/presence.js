// The ticket page's collision notice (TKT-01): tells the server, with every htmx poll of
// #presence, whether this agent is writing a reply (the composer has focus or text), and
// reports a change at once instead of at the next poll.
(function () {
  "use strict";
  var box = document.getElementById("presence");
  var flag = document.getElementById("presence-writing");
  if (!box || !flag || box.dataset.presenceReady) return;
  box.dataset.presenceReady = "1";

  function composer() {
    return document.querySelector(".composer");
  }
  function hasText(root) {
    var typed = false;
    root.querySelectorAll("textarea, [contenteditable]:not([contenteditable=false])").forEach(function (el) {
      var value = el.tagName === "TEXTAREA" ? el.value : el.textContent;
      if (value && value.trim()) typed = true;
    });
    return typed;
  }
  function update() {
    var root = composer();
    var writing = !!root && (root.contains(document.activeElement) || hasText(root));
    var value = writing ? "1" : "0";
    if (flag.value !== value) {
      flag.value = value;
      if (window.htmx) window.htmx.trigger(box, "presence-change");
    }
  }
  document.addEventListener("focusin", update);
  document.addEventListener("focusout", function () { setTimeout(update, 0); });
  document.addEventListener("input", update);
  // Leaving the page drops this agent from the others' notice at once.
  window.addEventListener("pagehide", function () {
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    var url = box.getAttribute("hx-post");
    if (!token || !url || !navigator.sendBeacon) return;
    var data = new FormData();
    data.append("leave", "1");
    data.append("csrfmiddlewaretoken", token.value);
    navigator.sendBeacon(url, data);
  });
})();
