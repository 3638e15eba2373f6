// The running timer's ticking clock on the ticket page (TKT-04). The server keeps the timer:
// each panel render gives its seconds so far (data-seconds) and whether it runs; the clock
// adds the time since that render, so the browser's own clock may be off without harm.
(function () {
  if (window.madoguchiTimer) return;
  window.madoguchiTimer = true;
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function format(seconds) {
    return Math.floor(seconds / 3600) + ":" + pad(Math.floor((seconds % 3600) / 60)) + ":" + pad(seconds % 60);
  }
  function tick() {
    var timers = document.querySelectorAll("[data-timer]");
    for (var i = 0; i < timers.length; i++) {
      var el = timers[i];
      if (!el.dataset.renderedAt) el.dataset.renderedAt = String(Date.now());
      var seconds = parseInt(el.dataset.seconds, 10) || 0;
      if (el.dataset.running === "1") {
        seconds += Math.floor((Date.now() - parseInt(el.dataset.renderedAt, 10)) / 1000);
      }
      var clock = el.querySelector("[data-timer-clock]");
      if (clock && clock.textContent !== format(seconds)) clock.textContent = format(seconds);
    }
  }
  // After a panel's form is sent, htmx replaces the panel and the focus would fall back to the
  // page: put it on the first field with an error, the stopped timer's duration, or the
  // panel's heading, so a keyboard user stays where they were.
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    if (!config || config.verb !== "post" || !config.target) return;
    var panel = document.getElementById(config.target.id);
    if (!panel || !panel.hasAttribute("data-focus-panel")) return;
    var target = panel.querySelector(".has-error input, .has-error select, .has-error textarea")
      || panel.querySelector("[data-focus-first]") || panel.querySelector("h2");
    if (target) target.focus();
  });
  window.setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
  document.addEventListener("DOMContentLoaded", tick);
})();
