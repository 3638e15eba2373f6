// The contact and account page (CUS-02). Arrow keys move through the list panel (each move
// swaps the record with htmx and the address follows), and through the tab bar (WAI-ARIA tabs:
// the arrow selects the next tab and loads it). The tab bar marks the tab htmx just loaded.
(function () {
  if (window.madoguchiCustomers) return;
  window.madoguchiCustomers = true;

  function move(items, current, step) {
    var index = items.indexOf(current);
    if (index < 0) return null;
    var next = items[(index + step + items.length) % items.length];
    next.focus();
    next.click();
    return next;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp" && event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    var target = event.target;
    var list = target.closest && target.closest("[data-list-keys]");
    if (list && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      move(Array.prototype.slice.call(list.querySelectorAll("a[data-record]")), target, event.key === "ArrowDown" ? 1 : -1);
      return;
    }
    var tablist = target.closest && target.closest("[role=tablist]");
    if (tablist && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      event.preventDefault();
      move(Array.prototype.slice.call(tablist.querySelectorAll("[role=tab]")), target, event.key === "ArrowRight" ? 1 : -1);
    }
  });

  // A tab was loaded: mark it selected (the others leave the tab order, as WAI-ARIA tabs do).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var tab = event.detail.elt;
    if (!tab || tab.getAttribute("role") !== "tab") return;
    var tabs = tab.parentNode.querySelectorAll("[role=tab]");
    for (var i = 0; i < tabs.length; i++) {
      var on = tabs[i] === tab;
      tabs[i].classList.toggle("active", on);
      tabs[i].setAttribute("aria-selected", on ? "true" : "false");
      if (on) tabs[i].removeAttribute("tabindex"); else tabs[i].setAttribute("tabindex", "-1");
    }
    var panel = document.getElementById("tab-panel");
    if (panel) panel.setAttribute("aria-labelledby", tab.id);
  });

  // Moving to another record keeps the open tab: the list's links were written with the tab
  // open when the list was drawn, so the request (and the address htmx pushes) takes the
  // tab selected now; the links' own address follows too (open in a new browser tab).
  function selectedTab() {
    var tab = document.querySelector(".record-related [role=tab][aria-selected=true]");
    return tab ? tab.dataset.tab : null;
  }
  function withTab(url, tab) {
    return /([?&])tab=[^&]*/.test(url) ? url.replace(/([?&])tab=[^&]*/, "$1tab=" + tab) : url;
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    var tab = selectedTab();
    if (!tab || !elt.dataset || !elt.dataset.record) return;
    event.detail.path = withTab(event.detail.path, tab);
    elt.setAttribute("href", withTab(elt.getAttribute("href"), tab));
  });

  // The record changed: the list marks the new current one.
  document.addEventListener("htmx:afterSettle", function (event) {
    var area = document.getElementById("record-area");
    if (!area || event.detail.target !== area) return;
    var link = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!link || !link.dataset || !link.dataset.record) return;
    var items = document.querySelectorAll("a[data-record]");
    for (var i = 0; i < items.length; i++) {
      var on = items[i] === link;
      items[i].classList.toggle("current", on);
      if (on) items[i].setAttribute("aria-current", "true"); else items[i].removeAttribute("aria-current");
    }
  });
})();
