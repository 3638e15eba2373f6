// Customers export (CUS-01): the export form takes the list's current search and filters,
// which the live search may have changed since the page was rendered.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.export-form")) return;
    var search = document.querySelector('form.filters[role="search"]');
    if (!search) return;
    form.querySelectorAll("input[type=hidden]").forEach(function (input) {
      input.remove();
    });
    new FormData(search).forEach(function (value, name) {
      if (name === "encoding" || typeof value !== "string") return;
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.appendChild(input);
    });
  });
})();
