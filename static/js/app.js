// Small behaviours shared by every page. htmx does the partial updates.
(function () {
  "use strict";
  // Close an open dropdown menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
        menu.querySelector("summary").focus();
      });
    }
  });
  // Behaviours named by data attributes, so that templates carry no inline script (the
  // Content-Security-Policy refuses onclick="..." and the like).
  // The live search asks as one types (hx-trigger "input"); the change event of leaving
  // the box would ask again and replace the rows, losing a selection just made.
  document.addEventListener(
    "change",
    function (event) {
      if (event.target.matches("input[data-live-search]")) event.stopPropagation();
    },
    true
  );
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("select[data-autosubmit]") && target.form) {
      target.form.requestSubmit();
    } else if (target.matches("input[data-sets-form-kind]") && target.form) {
      // The composer shows the fields of the kind of message chosen (reply, comment, forward).
      target.form.dataset.kind = target.value;
    } else if (target.matches("input[data-select-all]")) {
      var name = target.getAttribute("data-select-all");
      document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-move-row-up]");
    if (!button) return;
    // Move the table row one place up and save the new order (the button's form).
    var row = button.closest("tr");
    if (row.previousElementSibling) row.parentNode.insertBefore(row, row.previousElementSibling);
    if (button.form) button.form.requestSubmit();
  });
  // Show a server error from an htmx request instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.createElement("div");
    box.className = "message message-error";
    box.setAttribute("role", "alert");
    box.textContent = event.detail.xhr.status === 403
      ? document.documentElement.lang === "ja" ? "この操作は許可されていません。" : "You are not allowed to do that."
      : document.documentElement.lang === "ja" ? "エラーが発生しました。もう一度お試しください。" : "Something went wrong. Please try again.";
    var main = document.getElementById("main");
    main.insertBefore(box, main.firstChild);
  });
})();
