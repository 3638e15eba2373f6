// Keyboard shortcuts (issue 8, item 7).
// List: j / k move between tickets, Enter opens, x selects. Ticket: r reply, c comment,
// e edit. "?" shows the list of shortcuts (templates/_shortcuts.html); Escape closes it.
// Pages opt in with data-* hooks: data-shortcuts="list" on the ticket table, rows with
// data-row and a link with data-row-link, and data-shortcut="r|c|e" on the ticket page.
// Nothing happens while a person types in a field or an editor, or with Ctrl/Alt/Meta.
(function () {
  "use strict";

  let current = -1; // index of the list's current row
  let returnFocus = null; // where focus goes back when the help closes

  function typing(target) {
    if (!(target instanceof Element)) return false;
    if (target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true'], trix-editor")) {
      return true;
    }
    return target.isContentEditable;
  }

  function rows() {
    const table = document.querySelector("[data-shortcuts='list']");
    return table ? Array.from(table.querySelectorAll("tbody tr[data-row]")) : [];
  }

  function mark(list, index) {
    list.forEach((row, i) => {
      row.classList.toggle("kb-current", i === index);
      if (i === index) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    });
    const row = list[index];
    if (!row) return;
    current = index;
    // Focus the row's link: screen readers announce the ticket and Enter opens it.
    const link = row.querySelector("[data-row-link]");
    if (link) link.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function currentIndex(list) {
    // After an htmx swap the rows are new: find the marked one, or the one holding focus.
    const marked = list.findIndex((row) => row.classList.contains("kb-current"));
    if (marked >= 0) return marked;
    const focused = list.findIndex((row) => row.contains(document.activeElement));
    return focused;
  }

  function move(step) {
    const list = rows();
    if (!list.length) return false;
    const index = currentIndex(list);
    const next = index < 0 ? (step > 0 ? 0 : list.length - 1) : index + step;
    mark(list, Math.max(0, Math.min(list.length - 1, next)));
    return true;
  }

  function openCurrent() {
    const list = rows();
    const row = list[currentIndex(list)];
    const link = row && row.querySelector("[data-row-link]");
    if (!link) return false;
    link.click();
    return true;
  }

  function selectCurrent() {
    const list = rows();
    const row = list[currentIndex(list)];
    const box = row && row.querySelector("input[type=checkbox][name=tickets]");
    if (!box) return false;
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  function ticketAction(key) {
    const hook = document.querySelector(`[data-shortcut='${key}']`);
    if (!hook || hook.disabled) return false;
    if (hook.tagName === "A") {
      hook.click();
      return true;
    }
    hook.click(); // a composer's kind (reply or comment): choose it, then write
    const form = hook.closest("form");
    const box = form && form.querySelector("trix-editor, textarea[name=body], textarea");
    if (box) {
      box.scrollIntoView({ block: "center" });
      box.focus();
    }
    return true;
  }

  function help() {
    let dialog = document.getElementById("shortcuts-dialog");
    if (!dialog) {
      const template = document.getElementById("shortcuts-help");
      if (!template) return false;
      document.body.appendChild(template.content.cloneNode(true));
      dialog = document.getElementById("shortcuts-dialog");
      dialog.addEventListener("close", () => {
        if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
        returnFocus = null;
      });
      dialog.querySelectorAll("[data-shortcuts-close]").forEach((button) =>
        button.addEventListener("click", () => dialog.close())
      );
    }
    if (dialog.open) return true;
    returnFocus = document.activeElement;
    dialog.showModal(); // modal: focus stays inside; Escape closes it
    const close = dialog.querySelector("[data-shortcuts-close]");
    if (close) close.focus();
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    const dialog = document.getElementById("shortcuts-dialog");
    if (dialog && dialog.open) return; // the dialog handles its own keys (Escape, Tab)
    let done = false;
    switch (event.key) {
      case "?":
        done = help();
        break;
      case "j":
        done = move(1);
        break;
      case "k":
        done = move(-1);
        break;
      case "x":
        done = selectCurrent();
        break;
      case "Enter":
        // A focused link or button already does its own thing on Enter.
        if (event.target instanceof Element && event.target.closest("a, button, summary")) return;
        done = openCurrent();
        break;
      case "r":
      case "c":
      case "e":
        done = ticketAction(event.key);
        break;
      default:
        return;
    }
    if (done) event.preventDefault();
  });
})();
