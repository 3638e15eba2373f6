// Chat Setup (CHAT-05): each setting is a small form that htmx posts when it changes. A
// refused setting answers 400 with the form and its errors; htmx leaves 4xx answers unswapped
// by default, so forms inside [data-swap-invalid] are shown again in place, with what was typed.
(function () {
  if (window.madoguchiChatSetup) return;
  window.madoguchiChatSetup = true;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail.requestConfig;
    var elt = config && config.elt;
    if (event.detail.xhr.status !== 400 || !elt || !elt.closest) return;
    if (!elt.closest("[data-swap-invalid]")) return;
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  });
  // One confirmation at a time: when a setting is sent, earlier "Saved" notes fall silent.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.closest || !elt.closest("[data-swap-invalid], #embed")) return;
    document.querySelectorAll("[data-saved]").forEach(function (box) {
      box.textContent = "";
    });
  });
})();
