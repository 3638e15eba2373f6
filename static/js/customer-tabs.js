// The contact and account tabs (CUS-05, CUS-11): a form the server refuses answers 400 with
// the tab and its errors; htmx leaves 4xx answers unswapped by default, so for the tabs that
// ask for it ([data-swap-invalid]) the refused form is shown in place, with what was typed.
(function () {
  if (window.madoguchiCustomerTabs) return;
  window.madoguchiCustomerTabs = true;
  document.addEventListener("htmx:beforeSwap", function (event) {
    // detail.elt is the swap's target here; the form that asked is the request's element.
    var config = event.detail.requestConfig;
    var elt = config && config.elt;
    if (event.detail.xhr.status !== 400 || !elt || !elt.closest) return;
    if (!elt.closest("[data-swap-invalid]")) return;
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  });
  // After a swap into the tab panel, the keyboard continues at the first error, if any.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "tab-panel") return;
    var error = target.querySelector("[data-swap-invalid] .has-error input, [data-swap-invalid] .has-error select, [data-swap-invalid] .has-error textarea");
    if (error) error.focus();
  });
})();
