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
