// The blueprint editor (BP-04, BP-12, BP-20): Cytoscape draws the states and transitions,
// cytoscape-edgehandles connects two states by dragging, cytoscape-dagre lays them out.
// The drawing lives here until saved; the server (editor/services.py) checks it again and
// saves all of it or nothing. The rules of the plan and the 16-connection rule are mirrored
// here so that a drawing breaking them is refused at the moment it is drawn; unreachable
// states and states with no way out are flagged as in editor/graph.py.
(function () {
  "use strict";
  var root = document.getElementById("bpe");
  if (!root || typeof window.cytoscape !== "function") return;

  var urls = JSON.parse(document.getElementById("bpe-urls").textContent);
  var i18n = document.getElementById("bpe-i18n").dataset;
  var canvas = document.getElementById("bpe-canvas");
  var panelBody = document.getElementById("bpe-panel-body");
  var panelEmpty = document.getElementById("bpe-panel-empty");
  var messagesBox = document.getElementById("bpe-messages");
  var errorsBox = document.getElementById("bpe-errors");
  var ANY = "any"; // the class of the node common transitions start from (drawn when some are)
  var gen = 0; // every redraw uses fresh element ids (see redraw)

  var model = null; // {limits, entry, palette, states: {status: {...}}, conns: [...]}
  var nextKey = 1;
  var dirty = false;
  var cy = null;
  var eh = null;
  var shown = null; // what the settings panel shows: {status} or {key}

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }
  function csrf() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function say(text) { messagesBox.textContent = text; }
  function showErrors(list) {
    errorsBox.textContent = "";
    if (!list || !list.length) { errorsBox.hidden = true; return; }
    list.forEach(function (text) {
      var p = document.createElement("p");
      p.textContent = text;
      errorsBox.appendChild(p);
    });
    errorsBox.hidden = false;
  }
  function refuse(text) { showErrors([text]); }
  function setDirty(value) {
    dirty = value;
    if (value) say(i18n.unsaved);
  }

  // --- Model ------------------------------------------------------------------------------------
  function load(graph) {
    var states = {};
    graph.states.forEach(function (s) { states[s.status] = s; });
    model = {
      limits: graph.limits,
      entry: graph.entry,
      palette: graph.palette,
      states: states,
      conns: graph.connections.map(function (c) {
        return { key: nextKey++, id: c.id, name: c.name, from: c.from.slice(), to: c.to,
                 common: c.common, fields: c.fields };
      }),
      status: graph.blueprint.status,
    };
  }
  function stateName(status) {
    var s = model.states[status];
    if (s) return s.name;
    var p = model.palette.find(function (item) { return item.status === status; });
    return p ? p.name : String(status);
  }

  // For each state, the states its transitions lead to (common ones from every state).
  function outgoing(conns) {
    var links = {};
    Object.keys(model.states).forEach(function (s) { links[s] = new Set(); });
    conns.forEach(function (c) {
      var froms = c.common ? Object.keys(model.states).map(Number) : c.from;
      froms.forEach(function (s) {
        if (s !== c.to && links[s]) links[s].add(c.to);
      });
    });
    return links;
  }

  // The first rule of the plan a candidate set of connections breaks, or null (BP-20).
  function violation(conns) {
    var limits = model.limits;
    if (conns.length > limits.transitions) {
      return fmt(i18n.limitTransitions, { n: limits.transitions });
    }
    var common = conns.filter(function (c) { return c.common; }).length;
    if (common > limits.common) return fmt(i18n.limitCommon, { n: limits.common });
    var links = outgoing(conns);
    for (var s in links) {
      if (links[s].size > limits.connections) {
        return fmt(i18n.limitConnections, { state: stateName(Number(s)), n: limits.connections });
      }
    }
    return null;
  }

  // States no transition reaches from the start, states no transition leaves (graph.py).
  function warnings() {
    var ids = Object.keys(model.states).map(Number);
    var links = outgoing(model.conns);
    var incoming = new Set();
    ids.forEach(function (s) { links[s].forEach(function (t) { incoming.add(t); }); });
    var starts = model.states[model.entry] ? [model.entry] : ids.filter(function (s) { return !incoming.has(s); });
    var seen = new Set(starts);
    var todo = starts.slice();
    while (todo.length) {
      links[todo.pop()].forEach(function (n) {
        if (!seen.has(n)) { seen.add(n); todo.push(n); }
      });
    }
    var found = [];
    ids.forEach(function (s) {
      var name = stateName(s);
      if (!seen.has(s)) found.push({ status: s, message: fmt(i18n.unreachable, { state: name }) });
      if (!links[s].size && model.states[s].kind !== "closed" && ids.length > 1) {
        found.push({ status: s, message: fmt(i18n.deadEnd, { state: name }) });
      }
    });
    return found;
  }

  // --- Drawing ----------------------------------------------------------------------------------
  // A node's width from its name. Not Cytoscape's width "label": that one is measured when
  // the label is first drawn, and a node added before could be cached as taking no space,
  // then never drawn (seen with 3.35 when the drawing is redrawn).
  function width(name) {
    return Math.min(200, Math.max(90, 16 + 8 * Array.from(name).reduce(function (n, ch) {
      return n + (ch.charCodeAt(0) > 0x2e7f ? 1.8 : 1);
    }, 0)));
  }

  // Where the "every state" node goes first: above the drawing's leftmost, topmost state.
  function anyPlace() {
    var xs = [], ys = [];
    Object.keys(model.states).forEach(function (k) { xs.push(model.states[k].x); ys.push(model.states[k].y); });
    return xs.length ? { x: Math.min.apply(null, xs), y: Math.min.apply(null, ys) - 90 } : { x: 0, y: 0 };
  }

  function elements() {
    gen += 1;
    var nid = function (status) { return "n" + gen + "-" + status; };
    var anyId = "any" + gen;
    var els = [];
    Object.keys(model.states).forEach(function (key) {
      var s = model.states[key];
      els.push({ group: "nodes", data: { id: nid(s.status), status: s.status, label: s.name, w: width(s.name) },
                 position: { x: s.x, y: s.y }, classes: s.kind });
    });
    if (model.conns.some(function (c) { return c.common; })) {
      els.push({ group: "nodes", data: { id: anyId, label: i18n.every, w: width(i18n.every) }, classes: ANY,
                 position: model.anyPos || anyPlace() });
    }
    model.conns.forEach(function (c) {
      var froms = c.common ? [anyId] : c.from.map(nid);
      froms.forEach(function (source) {
        els.push({ group: "edges", data: { id: "e" + gen + "-" + c.key + "-" + source, key: c.key,
                   source: source, target: nid(c.to), label: "+ " + c.name },
                   classes: c.common ? "common" : "" });
      });
    });
    return els;
  }

  function redraw() {
    var anyNode = cy.nodes("." + ANY);
    if (anyNode.length) model.anyPos = Object.assign({}, anyNode.position());
    // Fresh ids every time: elements re-added under the ids of removed ones keep a stale
    // cached style in Cytoscape 3.35, which then draws them invisible.
    cy.elements().remove();
    cy.add(elements());
    flag();
    renderPalette();
  }

  function flag() {
    var found = warnings();
    var list = document.getElementById("bpe-warnings");
    list.textContent = "";
    cy.nodes().removeClass("warn");
    found.forEach(function (w) {
      var li = document.createElement("li");
      li.textContent = w.message;
      list.appendChild(li);
      cy.nodes().filter(function (n) { return n.data("status") === w.status; }).addClass("warn");
    });
  }

  function renderPalette() {
    var ul = document.getElementById("bpe-statuses");
    ul.textContent = "";
    model.palette.forEach(function (p) {
      var placed = Boolean(model.states[p.status]);
      var li = document.createElement("li");
      li.className = "bpe-status" + (placed ? " placed" : "");
      li.dataset.status = p.status;
      li.draggable = !placed;
      var name = document.createElement("span");
      name.textContent = p.name;
      li.appendChild(name);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small";
      button.textContent = placed ? i18n.openSettings : i18n.place;
      button.setAttribute("aria-label", (placed ? i18n.openSettings : i18n.place) + ": " + p.name);
      button.addEventListener("click", function () {
        if (model.states[p.status]) { statePanel(p.status); return; }
        var ext = cy.extent();
        place(p, (ext.x1 + ext.x2) / 2, (ext.y1 + ext.y2) / 2);
      });
      li.appendChild(button);
      li.addEventListener("dragstart", function (event) {
        event.dataTransfer.setData("text/plain", String(p.status));
        event.dataTransfer.effectAllowed = "copy";
      });
      ul.appendChild(li);
    });
  }

  function place(p, x, y) {
    if (model.states[p.status]) return;
    model.states[p.status] = { status: p.status, name: p.name, kind: p.kind, x: Math.round(x),
                               y: Math.round(y), tickets: 0, notes: [] };
    setDirty(true);
    showErrors([]);
    redraw();
  }

  // --- Panels -----------------------------------------------------------------------------------
  function openPanel(node) {
    panelEmpty.hidden = true;
    panelBody.textContent = "";
    panelBody.appendChild(node);
    document.getElementById("bpe-panel").focus();
  }

  function statePanel(status) {
    var s = model.states[status];
    var t = document.getElementById("bpe-t-state").content.cloneNode(true);
    t.querySelector(".bpe-name").textContent = s.name;
    var kind = model.palette.find(function (p) { return p.status === status; });
    t.querySelector(".bpe-kind").textContent = kind ? kind.kind_label || "" : "";
    t.querySelector(".bpe-tickets").textContent =
      s.tickets === 1 ? i18n.ticketsOne : fmt(i18n.ticketsMany, { n: s.tickets || 0 });
    var notes = t.querySelector(".bpe-notes");
    (s.notes || []).forEach(function (n) {
      var li = document.createElement("li");
      li.textContent = n.heading + ": " + n.text + " ";
      var a = document.createElement("a");
      a.href = n.url;
      a.textContent = n.link_text;
      li.appendChild(a);
      if ((n.details || []).length) { // the SLA's escalation levels, one line each
        var sub = document.createElement("ul");
        n.details.forEach(function (line) {
          var item = document.createElement("li");
          item.textContent = line;
          sub.appendChild(item);
        });
        li.appendChild(sub);
      }
      notes.appendChild(li);
    });
    var out = t.querySelector(".bpe-out");
    model.conns.forEach(function (c) {
      if (c.common || c.from.indexOf(status) < 0) return;
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "linklike";
      b.textContent = fmt(i18n.toState, { name: c.name, state: stateName(c.to) });
      b.addEventListener("click", function () { connectionPanel(c.key); });
      li.appendChild(b);
      out.appendChild(li);
    });
    out.hidden = !out.children.length;
    t.querySelector(".bpe-out-title").hidden = out.hidden;
    var target = t.querySelector(".bpe-target");
    Object.keys(model.states).map(Number).forEach(function (other) {
      if (other === status) return;
      var option = document.createElement("option");
      option.value = String(other);
      option.textContent = stateName(other);
      target.appendChild(option);
    });
    var connectForm = t.querySelector(".bpe-connect-form");
    connectForm.hidden = !target.options.length;
    connectForm.addEventListener("submit", function (event) {
      event.preventDefault();
      connect(status, Number(target.value));
    });
    t.querySelector("[data-bpe=remove-state]").addEventListener("click", function () {
      removeState(status);
    });
    openPanel(t);
    shown = { status: status };
  }

  function closePanel() {
    shown = null;
    panelBody.textContent = "";
    panelEmpty.hidden = false;
  }

  function removeConnection(key) {
    model.conns = model.conns.filter(function (item) { return item.key !== key; });
    closePanel();
    setDirty(true);
    redraw();
  }

  // Delete removes the state or connection whose settings are open; Escape leaves "Connect
  // states" and closes the settings.
  function onKey(event) {
    if (event.key === "Escape") {
      var button = root.querySelector("[data-bpe=connect]");
      if (eh && eh.drawMode) toggleConnect(button);
      if (!panelEmpty.hidden) return;
      closePanel();
      return;
    }
    // On the settings panel itself (clicking a state or connection opens it and focuses it),
    // never while typing in one of its fields.
    var panel = document.getElementById("bpe-panel");
    if ((event.key === "Delete" || event.key === "Backspace") && event.target === panel) {
      if (!shown) return;
      event.preventDefault();
      if (shown.key) removeConnection(shown.key); else removeState(shown.status);
    }
  }

  function removeState(status) {
    var s = model.states[status];
    if (s.tickets) { refuse(i18n.inUse); return; }
    delete model.states[status];
    model.conns = model.conns.filter(function (c) {
      if (c.to === status) return false;
      c.from = c.from.filter(function (f) { return f !== status; });
      return c.common || c.from.length > 0;
    });
    closePanel();
    setDirty(true);
    redraw();
  }

  function connectionPanel(key) {
    var c = model.conns.find(function (item) { return item.key === key; });
    if (!c) return;
    var t = document.getElementById("bpe-t-connection").content.cloneNode(true);
    var name = t.querySelector("#bpe-c-name");
    name.value = c.name;
    name.addEventListener("input", function () {
      c.name = name.value;
      setDirty(true);
      cy.edges().filter(function (e) { return e.data("key") === key; }).data("label", "+ " + c.name);
    });
    var ends = t.querySelector(".bpe-ends");
    function showEnds() {
      var from = c.common ? i18n.every : c.from.map(stateName).join(", ");
      ends.textContent = fmt(i18n.from, { from: from, to: stateName(c.to) });
    }
    showEnds();
    var common = t.querySelector("#bpe-c-common");
    common.checked = c.common;
    common.addEventListener("change", function () {
      var candidate = model.conns.map(function (item) {
        return item.key === key ? Object.assign({}, item, { common: common.checked }) : item;
      });
      var problem = violation(candidate);
      if (problem) { refuse(problem); common.checked = c.common; return; }
      showErrors([]);
      if (!common.checked && !c.from.length) {
        // A common transition made ordinary starts from every state but its target until
        // the admin reconnects it; the server would refuse one without a start.
        c.from = Object.keys(model.states).map(Number).filter(function (s) { return s !== c.to; });
      }
      c.common = common.checked;
      setDirty(true);
      redraw();
      showEnds();
    });
    t.querySelector("[data-bpe=remove-connection]").addEventListener("click", function () {
      removeConnection(key);
    });
    shown = { key: key };
    var formBox = t.querySelector(".bpe-form");
    var tabs = t.querySelector(".bpe-tabs");
    t.querySelector("[data-bpe=settings]").addEventListener("click", function () {
      var open = function () { loadTransitionForm(c, formBox, tabs); };
      if (dirty || !c.id) {
        say(i18n.saveFirst);
        save(null, false).then(function (ok) {
          if (!ok) return;
          var again = model.conns.find(function (item) {
            return item.to === c.to && item.name === c.name.trim() && item.common === c.common;
          });
          if (again) { c = again; key = again.key; open(); }
        });
      } else {
        open();
      }
    });
    openPanel(t);
  }

  // The transition's own form (settings_views.transition_edit): its Before / During / After
  // parts shown one tab at a time; saving it comes back to the drawing.
  function loadTransitionForm(c, box, tabs) {
    var url = urls.transition.replace(/0\/$/, c.id + "/");
    fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var form = doc.querySelector("form.transition-form");
        if (!form) return;
        form = document.importNode(form, true);
        form.action = url + "?next=editor";
        box.textContent = "";
        box.appendChild(form);
        // The criteria and validation rules get the same condition builder as on the page.
        var schemaNode = doc.getElementById("condition-schema");
        if (schemaNode && window.madoguchiConditions) window.madoguchiConditions.init(form, schemaNode);
        tabs.hidden = false;
        function show(id) {
          form.querySelectorAll("section.card").forEach(function (section) {
            section.hidden = section.getAttribute("aria-labelledby") !== id;
          });
          tabs.querySelectorAll("[data-tab]").forEach(function (b) {
            b.setAttribute("aria-pressed", String(b.dataset.tab === id));
          });
        }
        tabs.querySelectorAll("[data-tab]").forEach(function (b) {
          b.addEventListener("click", function () { show(b.dataset.tab); });
        });
        show("t-before");
      });
  }

  // --- Saving -----------------------------------------------------------------------------------
  function payload(status) {
    if (cy) {
      cy.nodes().forEach(function (n) {
        var s = model.states[n.data("status")];
        if (s) { s.x = Math.round(n.position("x")); s.y = Math.round(n.position("y")); }
      });
    }
    return {
      status: status,
      states: Object.keys(model.states).map(function (k) {
        var s = model.states[k];
        return { status: s.status, x: s.x, y: s.y };
      }),
      connections: model.conns.map(function (c) {
        return { id: c.id, name: c.name.trim(), from: c.common ? [] : c.from, to: c.to, common: c.common };
      }),
    };
  }

  function save(status, leave) {
    say(i18n.saving);
    return fetch(urls.graph, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(payload(status)),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!body.ok) { say(""); showErrors(body.errors); return false; }
        showErrors([]);
        dirty = false;
        if (leave) { window.location.href = urls.list; return true; }
        var anyPos = model.anyPos;
        load(body.graph);
        model.anyPos = anyPos;
        redraw();
        say(body.message);
        var badge = document.getElementById("bpe-status");
        if (badge) badge.textContent = body.graph.blueprint.status_label;
        return true;
      });
    }).catch(function () { say(""); showErrors([i18n.failed]); return false; });
  }

  // --- Start ------------------------------------------------------------------------------------
  function start() {
    load(JSON.parse(document.getElementById("bpe-graph").textContent));
    if (window.cytoscapeDagre) window.cytoscape.use(window.cytoscapeDagre);
    if (window.cytoscapeEdgehandles) window.cytoscape.use(window.cytoscapeEdgehandles);
    cy = window.cytoscape({
      container: canvas,
      elements: elements(),
      wheelSensitivity: 0.3,
      minZoom: 0.2,
      maxZoom: 3,
      style: [
        { selector: "node", style: {
          shape: "round-rectangle", "background-color": "#ffffff", "border-width": 2,
          "border-color": "#0f766e", label: "data(label)", "text-valign": "center",
          "text-halign": "center", color: "#1f2937", "font-size": 13,
          height: 36, width: "data(w)", "text-wrap": "ellipsis", "text-max-width": "190px" } },
        { selector: "node.closed", style: { "border-color": "#4b5563", "background-color": "#f3f4f6" } },
        { selector: "node.on_hold", style: { "border-color": "#b45309" } },
        { selector: "node.any", style: { "border-color": "#15803d", "border-style": "dashed",
          color: "#166534", "background-color": "#dcfce7" } },
        { selector: "node.warn", style: { "border-color": "#b91c1c", "border-style": "double",
          "border-width": 4 } },
        { selector: "node:selected", style: { "overlay-color": "#fbbf24", "overlay-opacity": 0.3 } },
        { selector: "edge", style: {
          width: 2, "line-color": "#4b5563", "target-arrow-color": "#4b5563",
          "target-arrow-shape": "triangle", "curve-style": "bezier", label: "data(label)",
          "font-size": 11, color: "#1f2937", "text-background-color": "#ffffff",
          "text-background-opacity": 1, "text-background-padding": "2px" } },
        { selector: "edge.common", style: { "line-color": "#15803d", "target-arrow-color": "#15803d",
          color: "#166534", "line-style": "dashed" } },
        { selector: "edge:selected", style: { width: 4 } },
        { selector: ".eh-ghost-edge, .eh-preview", style: { "line-color": "#0f766e",
          "target-arrow-color": "#0f766e", "target-arrow-shape": "triangle", label: "" } },
        { selector: ".eh-hover", style: { "background-color": "#ccfbf1" } },
      ],
      layout: { name: "preset" },
    });
    var unplaced = Object.keys(model.states).length > 1 && Object.keys(model.states).every(function (k) {
      return !model.states[k].x && !model.states[k].y;
    });
    if (unplaced) autoLayout(false);
    cy.fit(undefined, 40);
    if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(); }
    flag();
    renderPalette();

    if (cy.edgehandles) {
      eh = cy.edgehandles({
        canConnect: function (source, target) {
          return !source.same(target) && !target.hasClass(ANY) && !source.hasClass(ANY);
        },
        snap: true,
        snapThreshold: 24,
        hoverDelay: 100,
      });
      cy.on("ehcomplete", function (event, source, target, added) {
        added.remove();
        connect(source.data("status"), target.data("status"));
      });
    }

    cy.on("tap", "node", function (event) {
      var status = event.target.data("status");
      if (status && !(eh && eh.drawMode)) statePanel(status);
    });
    cy.on("tap", "edge", function (event) { connectionPanel(event.target.data("key")); });
    cy.on("dragfree", "node", function () { setDirty(true); });

    canvas.addEventListener("dragover", function (event) { event.preventDefault(); });
    canvas.addEventListener("drop", function (event) {
      event.preventDefault();
      var status = Number(event.dataTransfer.getData("text/plain"));
      var p = model.palette.find(function (item) { return item.status === status; });
      if (!p) return;
      var box = canvas.getBoundingClientRect();
      var pan = cy.pan(), zoom = cy.zoom();
      place(p, (event.clientX - box.left - pan.x) / zoom, (event.clientY - box.top - pan.y) / zoom);
    });

    root.addEventListener("click", function (event) {
      var button = event.target.closest("[data-bpe]");
      if (!button) return;
      var what = button.dataset.bpe;
      var middle = { x: cy.width() / 2, y: cy.height() / 2 };
      if (what === "zoom-in") cy.zoom({ level: cy.zoom() * 1.25, renderedPosition: middle });
      else if (what === "zoom-out") cy.zoom({ level: cy.zoom() / 1.25, renderedPosition: middle });
      else if (what === "fit") cy.fit(undefined, 40);
      else if (what === "layout") autoLayout(true);
      else if (what === "connect") toggleConnect(button);
      else if (what === "save") save(button.dataset.status, Boolean(button.dataset.leave));
    });

    document.getElementById("bpe-add-form").addEventListener("submit", addStatus);
    root.addEventListener("keydown", onKey);
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  }

  function toggleConnect(button) {
    if (!eh) return;
    var on = !eh.drawMode;
    if (on) eh.enableDrawMode(); else eh.disableDrawMode();
    button.setAttribute("aria-pressed", String(on));
    canvas.classList.toggle("connecting", on);
  }

  // A new connection from one state to another, refused at once if it breaks a rule.
  function connect(from, to) {
    if (!from || !to || from === to) { refuse(i18n.self); return; }
    var same = model.conns.find(function (c) { return !c.common && c.to === to && c.from.indexOf(from) >= 0; });
    if (same) { refuse(i18n.duplicate); return; }
    var conn = { key: nextKey++, id: null, name: fmt(i18n.newName, { state: stateName(to) }).slice(0, 30),
                 from: [from], to: to, common: false, fields: 0 };
    var problem = violation(model.conns.concat([conn]));
    if (problem) { refuse(problem); return; }
    showErrors([]);
    model.conns.push(conn);
    setDirty(true);
    redraw();
    connectionPanel(conn.key);
  }

  function autoLayout(animate) {
    cy.layout({ name: window.cytoscapeDagre ? "dagre" : "breadthfirst", rankDir: "LR",
                nodeSep: 40, rankSep: 120, animate: Boolean(animate), fit: true, padding: 40 }).run();
    if (animate) setDirty(true);
  }

  function addStatus(event) {
    event.preventDefault();
    var form = event.target;
    fetch(urls.status_add, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf() },
      body: new FormData(form),
    }).then(function (response) { return response.json(); }).then(function (body) {
      if (!body.ok) { showErrors(body.errors); return; }
      showErrors([]);
      model.palette.push(body.status);
      var ext = cy.extent();
      place(body.status, (ext.x1 + ext.x2) / 2, (ext.y1 + ext.y2) / 2);
      form.reset();
    }).catch(function () { showErrors([i18n.failed]); });
  }

  start();
})();
