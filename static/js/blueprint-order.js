// Setup → Blueprints: drag a row to change the order the department's blueprints apply in
// (BP-21), with plain HTML5 drag and drop (no library needed for one table). The new order is
// posted as the ids in order to the list's order endpoint, which saves it through the
// configuration service; if the server refuses, the rows go back where they were and its
// message is shown. The ↑/↓ buttons remain the keyboard way (plain form posts).
(function () {
  "use strict";
  var table = document.getElementById("bp-list");
  var status = document.getElementById("bp-order-status");
  if (!table || !status) return;
  var body = table.tBodies[0];
  var rows = function () { return Array.prototype.slice.call(body.querySelectorAll("tr[data-id]")); };
  if (rows().length < 2) return;
  var dragged = null;
  var before = null;

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) {
      var input = document.querySelector("[name=csrfmiddlewaretoken]");
      return input ? input.value : "";
    }
  }
  function renumber() {
    rows().forEach(function (row, n) {
      var pos = row.querySelector(".position");
      if (pos) pos.textContent = String(n + 1);
    });
  }
  function clearMarks() {
    rows().forEach(function (r) { r.classList.remove("drop-before", "drop-after"); });
  }
  function say(text, failed) {
    status.textContent = text;
    status.classList.toggle("error", !!failed);
  }
  function save() {
    var ids = rows().map(function (r) { return r.dataset.id; });
    var data = new URLSearchParams({ ids: ids.join(",") });
    fetch(table.dataset.orderUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" },
    }).then(function (r) {
      return r.json().then(function (json) { return { ok: r.ok, json: json }; });
    }).then(function (res) {
      if (res.ok) { say(res.json.message, false); return; }
      restore();
      say(res.json.error || table.dataset.failed, true);
    }).catch(function () { restore(); say(table.dataset.failed, true); });
  }
  function restore() {
    before.forEach(function (row) { body.appendChild(row); });
    renumber();
  }

  rows().forEach(function (row) {
    row.draggable = true;
    row.addEventListener("dragstart", function (e) {
      dragged = row;
      before = rows();
      row.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", row.dataset.id);
    });
    row.addEventListener("dragend", function () {
      row.classList.remove("dragging");
      clearMarks();
      dragged = null;
    });
    row.addEventListener("dragover", function (e) {
      if (!dragged || dragged === row) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      var box = row.getBoundingClientRect();
      var after = e.clientY > box.top + box.height / 2;
      clearMarks();
      row.classList.add(after ? "drop-after" : "drop-before");
    });
    row.addEventListener("drop", function (e) {
      if (!dragged || dragged === row) return;
      e.preventDefault();
      var after = row.classList.contains("drop-after");
      clearMarks();
      body.insertBefore(dragged, after ? row.nextSibling : row);
      renumber();
      var order = rows().map(function (r) { return r.dataset.id; }).join(",");
      var was = before.map(function (r) { return r.dataset.id; }).join(",");
      if (order !== was) save();
    });
  });
})();
