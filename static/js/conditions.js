// The condition builder (TKT-09): rows of field / operator / value joined by "all" or "any",
// written as JSON into the criteria's textarea, which stays the form's one source of truth.
// Without JavaScript the textarea is edited directly; conditions with nested groups are too.
(function () {
  "use strict";

  var schema = null, L = null, byName = {};
  function useSchema(node) {
    schema = JSON.parse(node.textContent);
    L = schema.labels;
    byName = {};
    schema.fields.forEach(function (f) { byName[f.name] = f; });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function select(options, value, label, multiple) {
    var s = el("select", { "aria-label": label });
    if (multiple) s.multiple = true;
    options.forEach(function (o) {
      var opt = el("option", { value: o[0], text: o[1] });
      var values = Array.isArray(value) ? value.map(String) : [String(value)];
      if (values.indexOf(String(o[0])) !== -1) opt.selected = true;
      s.appendChild(opt);
    });
    return s;
  }

  // The field picker: fields an app provides (the CRM's) under their group's heading.
  function fieldPicker(value, label) {
    var s = el("select", { "aria-label": label }), groups = {};
    schema.fields.forEach(function (f) {
      var opt = el("option", { value: f.name, text: f.label });
      if (f.name === value) opt.selected = true;
      if (!f.group) { s.appendChild(opt); return; }
      if (!groups[f.group]) { groups[f.group] = el("optgroup", { label: f.group }); s.appendChild(groups[f.group]); }
      groups[f.group].appendChild(opt);
    });
    return s;
  }

  function input(type, value, label) {
    var i = el("input", { type: type, "aria-label": label });
    if (value !== undefined && value !== null) i.value = String(value).slice(0, type === "date" ? 10 : undefined);
    return i;
  }

  function simple(root) {
    // The builder shows one level: a group of leaves.
    if (!root || (!root.all && !root.any)) return root && root.field ? { all: [root] } : { all: [] };
    var items = root.all || root.any;
    if (!Array.isArray(items) || items.some(function (c) { return !c || c.all || c.any; })) return null;
    return root;
  }

  function Builder(container, textarea) {
    this.container = container;
    this.textarea = textarea;
    this.rows = [];
  }

  Builder.prototype.load = function () {
    var data;
    try { data = this.textarea.value.trim() ? JSON.parse(this.textarea.value) : { all: [] }; }
    catch (e) { data = null; }
    var root = data === null ? null : simple(data);
    // A field this organization does not have now (a CRM integration removed): the rows
    // would silently pick another field, so the JSON stays as it is.
    var unknown = root !== null && (root.all || root.any).some(function (c) { return !byName[c.field]; });
    this.container.textContent = "";
    if (root === null || unknown) {
      // Nested groups (or JSON the server sent back with an error): the textarea stays.
      this.container.appendChild(el("p", { class: "help", text: (unknown && L.unknown) || L.nested }));
      this.container.hidden = false;
      this.showJson(true);
      return;
    }
    this.kind = root.any ? "any" : "all";
    var self = this;
    var match = select([["all", L.all], ["any", L.any]], this.kind, L.match);
    match.addEventListener("change", function () { self.kind = match.value; self.save(); });
    this.list = el("div", { class: "condition-rows" });
    var add = el("button", { type: "button", class: "button small", text: L.add });
    add.addEventListener("click", function () {
      self.addRow({ field: schema.fields[0].name, op: schema.fields[0].operators[0][0] });
      self.save();
      var last = self.list.lastElementChild;
      if (last) last.querySelector("select").focus();
    });
    var toggle = el("button", { type: "button", class: "button small", text: L.json, "aria-expanded": "false" });
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      if (!open) { self.load(); return; }
      self.showJson(open);
    });
    this.container.appendChild(el("div", { class: "condition-match" }, [el("label", { text: L.match }), match]));
    this.container.appendChild(this.list);
    this.container.appendChild(el("div", { class: "button-row" }, [add, toggle]));
    this.empty = el("p", { class: "help condition-empty", text: L.empty });
    this.container.appendChild(this.empty);
    this.rows = [];
    (root.all || root.any).forEach(function (leaf) { self.addRow(leaf); });
    this.container.hidden = false;
    this.showJson(false);
    this.refresh();
  };

  Builder.prototype.showJson = function (show) {
    this.textarea.hidden = !show;
    var field = this.container.parentNode;
    [".condition-json-label", ".condition-json-help"].forEach(function (selector) {
      var node = field.querySelector(selector);
      if (node) node.hidden = !show;
    });
  };

  Builder.prototype.refresh = function () {
    if (this.empty) this.empty.hidden = this.rows.length > 0;
  };

  Builder.prototype.addRow = function (leaf) {
    var self = this;
    var row = { node: el("div", { class: "condition-row" }), leaf: leaf };
    var n = this.rows.length + 1;
    function render() {
      row.node.textContent = "";
      var field = byName[row.leaf.field] || schema.fields[0];
      var fieldSelect = fieldPicker(field.name, L.field + " " + n);
      var ops = field.operators.map(function (o) { return o[0]; });
      if (ops.indexOf(row.leaf.op) === -1) row.leaf.op = ops[0];
      var opSelect = select(field.operators, row.leaf.op, L.operator + " " + n);
      fieldSelect.addEventListener("change", function () {
        row.leaf = { field: fieldSelect.value, op: byName[fieldSelect.value].operators[0][0] };
        render(); self.save(); row.node.querySelector("select").focus();
      });
      opSelect.addEventListener("change", function () {
        row.leaf.op = opSelect.value; delete row.leaf.value; render(); self.save();
        row.node.querySelectorAll("select")[1].focus();
      });
      var remove = el("button", { type: "button", class: "button small danger", text: L.remove, "aria-label": L.remove + " " + n });
      remove.addEventListener("click", function () {
        self.rows.splice(self.rows.indexOf(row), 1);
        row.node.remove(); self.save(); self.refresh();
      });
      row.node.appendChild(fieldSelect);
      row.node.appendChild(opSelect);
      var value = valueEditor(field, row, n, function () { self.save(); });
      if (value) row.node.appendChild(value);
      row.node.appendChild(remove);
    }
    render();
    this.rows.push(row);
    this.list.appendChild(row.node);
    this.refresh();
  };

  function valueEditor(field, row, n, changed) {
    var op = row.leaf.op, v = row.leaf.value, label = L.value + " " + n;
    if (op === "is_empty" || op === "is_not_empty") return null;
    var wrap = el("span", { class: "condition-value" });
    function bind(node, read) {
      node.addEventListener("change", function () { row.leaf.value = read(); changed(); });
      node.addEventListener("input", function () { row.leaf.value = read(); changed(); });
      wrap.appendChild(node);
    }
    var dateType = field.type === "date" || field.type === "datetime";
    var numberType = field.type === "number" || field.numeric;
    if (op === "within_last" || op === "within_next") {
      var amount = input("number", (v && v.amount) || 1, L.amount + " " + n);
      amount.min = "1";
      var unit = select(schema.units, (v && v.unit) || "days", L.unit + " " + n);
      var read = function () { return { amount: parseInt(amount.value, 10) || 0, unit: unit.value }; };
      row.leaf.value = read();
      bind(amount, read); bind(unit, read);
      return wrap;
    }
    if (op === "between") {
      var type = dateType ? "date" : "number";
      var pair = Array.isArray(v) ? v : ["", ""];
      var low = input(type, pair[0], L.from + " " + n), high = input(type, pair[1], L.to + " " + n);
      var readPair = function () {
        var conv = function (x) { return type === "number" && x !== "" ? Number(x) : x; };
        return [conv(low.value), conv(high.value)];
      };
      bind(low, readPair); bind(high, readPair);
      return wrap;
    }
    if (field.choices.length && !field.numeric) {
      var multiple = op === "in" || op === "not_in";
      var s = select(field.choices, v === undefined ? "" : v, label, multiple);
      var toValue = function (x) { return field.type === "reference" || field.type === "team" ? Number(x) : x; };
      var readChoice = function () {
        if (multiple) return Array.prototype.filter.call(s.options, function (o) { return o.selected; }).map(function (o) { return toValue(o.value); });
        return toValue(s.value);
      };
      if (!multiple && v === undefined) row.leaf.value = readChoice();
      bind(s, readChoice);
      return wrap;
    }
    if (field.type === "boolean") {
      var b = select([["true", L.yes], ["false", L.no]], v === false ? "false" : "true", label);
      var readBool = function () { return b.value === "true"; };
      row.leaf.value = readBool();
      bind(b, readBool);
      return wrap;
    }
    if (op === "in" || op === "not_in") {
      var ids = input("text", Array.isArray(v) ? v.join(", ") : "", label);
      bind(ids, function () {
        return ids.value.split(/[\s,]+/).filter(Boolean).map(function (x) { return numberType ? Number(x) : x; });
      });
      return wrap;
    }
    var single = input(dateType ? "date" : numberType ? "number" : "text", v, label);
    bind(single, function () { return numberType && single.value !== "" ? Number(single.value) : single.value; });
    return wrap;
  }

  Builder.prototype.save = function () {
    var items = this.rows.map(function (r) { return r.leaf; });
    var root = {};
    root[this.kind] = items;
    this.textarea.value = items.length ? JSON.stringify(root) : "";
  };

  // Turn every builder container under `root` into rows; `schemaNode` is the page's (or a
  // fetched form's) #condition-schema. The blueprint editor calls this for the transition
  // form it shows in its side panel.
  function init(root, schemaNode) {
    if (!schemaNode) return;
    useSchema(schemaNode);
    root.querySelectorAll("[data-condition-builder]").forEach(function (container) {
      if (container.dataset.builderReady) return;
      var textarea = root.querySelector("#" + CSS.escape(container.getAttribute("data-condition-builder")));
      if (!textarea) return;
      container.dataset.builderReady = "1";
      new Builder(container, textarea).load();
    });
  }
  window.madoguchiConditions = { init: init };
  init(document, document.getElementById("condition-schema"));
})();
