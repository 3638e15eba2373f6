// The process flowchart on the ticket (BP-23, BP-25, BP-14), drawn read-only with the same
// Cytoscape as the editor: the current state highlighted, the path taken numbered in order,
// pending transitions marked; pointing at or selecting a transition says its owners, and
// selecting a pending one the member may reassign goes to its reassignment form. The data
// comes as JSON (json_script, no inline script); the text lists under the chart say the same
// for keyboard and screen-reader users. Loaded with the fragment (htmx runs it in order after
// cytoscape.min.js), so it draws whatever #bp-flow-canvas is on the page now.
(function () {
  "use strict";

  function width(name) { return Math.max(90, Math.min(220, name.length * 8 + 28)); }

  function elements(graph) {
    var els = [];
    var placed = graph.preset;
    var minX = Infinity;
    var minY = Infinity;
    graph.nodes.forEach(function (n) {
      if (n.x !== undefined) { minX = Math.min(minX, n.x); minY = Math.min(minY, n.y); }
    });
    graph.nodes.forEach(function (n) {
      var classes = [];
      if (n.current) classes.push("current");
      if (n.visited) classes.push("visited");
      if (n.any) classes.push("any");
      var el = { group: "nodes", data: { id: n.id, label: n.name, w: width(n.name) },
                 classes: classes.join(" ") };
      if (placed) {
        el.position = n.any ? { x: (isFinite(minX) ? minX : 0) - 220, y: isFinite(minY) ? minY : 0 }
                            : { x: n.x + width(n.name) / 2, y: n.y + 23 };
      }
      els.push(el);
    });
    graph.edges.forEach(function (e) {
      var classes = [];
      if (e.common) classes.push("common");
      if (e.pending) classes.push("pending");
      if (e.taken.length) classes.push("taken");
      if (e.reassign) classes.push("reassign");
      // A transition taken many times shows its last three step numbers (the list below and
      // the ticket's history have every step).
      var numbers = e.taken.length > 3 ? ["…"].concat(e.taken.slice(-3)) : e.taken;
      var label = numbers.length ? numbers.join(", ") + ". " + e.name : e.name;
      els.push({ group: "edges", classes: classes.join(" "),
                 data: { id: e.id, source: e.source, target: e.target, label: label,
                         name: e.name, owners: e.owners, transition: e.transition } });
    });
    return els;
  }

  var STYLE = [
    { selector: "node", style: {
      shape: "round-rectangle", width: "data(w)", height: 46, "background-color": "#ffffff",
      "border-width": 1.5, "border-color": "#94a3b8", label: "data(label)", "font-size": 13,
      color: "#1f2937", "text-valign": "center", "text-halign": "center",
      "text-wrap": "ellipsis", "text-max-width": "data(w)" } },
    { selector: "node.visited", style: { "border-color": "#1d4ed8", "border-width": 2 } },
    { selector: "node.current", style: {
      "background-color": "#ccfbf1", "border-color": "#0f766e", "border-width": 4,
      "font-weight": "bold" } },
    { selector: "node.any", style: {
      "background-color": "#f0fdf4", "border-color": "#15803d", "border-style": "dashed" } },
    { selector: "edge", style: {
      width: 1.5, "line-color": "#64748b", "target-arrow-color": "#64748b",
      "target-arrow-shape": "triangle", "curve-style": "bezier", label: "data(label)",
      "font-size": 11, color: "#334155", "text-background-color": "#ffffff",
      "text-background-opacity": 0.9, "text-background-padding": 2 } },
    { selector: "edge.common", style: {
      "line-color": "#15803d", "target-arrow-color": "#15803d", "line-style": "dashed" } },
    { selector: "edge.taken", style: {
      width: 3, "line-color": "#1d4ed8", "target-arrow-color": "#1d4ed8", color: "#1e3a8a" } },
    { selector: "edge.pending", style: {
      width: 3.5, "line-color": "#0f766e", "target-arrow-color": "#0f766e", color: "#134e4a",
      "font-weight": "bold" } },
    { selector: "edge.hover", style: { width: 5, "underlay-color": "#fde68a",
      "underlay-opacity": 0.8, "underlay-padding": 4 } },
  ];

  function draw() {
    var box = document.getElementById("bp-flow-canvas");
    var source = document.getElementById("bp-flow-graph");
    if (!box || !source || box.dataset.drawn || typeof window.cytoscape !== "function") return;
    var graph = JSON.parse(source.textContent);
    var tip = document.getElementById("bp-flow-tip");
    box.hidden = false;
    box.dataset.drawn = "1";
    var cy = window.cytoscape({
      container: box,
      elements: elements(graph),
      style: STYLE,
      layout: graph.preset ? { name: "preset", fit: true, padding: 24 }
                           : { name: "breadthfirst", directed: true, spacingFactor: 1.1,
                               fit: true, padding: 24 },
      autoungrabify: true, // read-only: nodes cannot be dragged
      autounselectify: true,
      boxSelectionEnabled: false,
      minZoom: 0.3,
      maxZoom: 2.5,
      wheelSensitivity: 0.3,
    });
    var svg = document.getElementById("bp-flow-svg");
    if (svg) svg.hidden = true; // the server-drawn SVG stays for pages without JavaScript
    var hint = document.getElementById("bp-flow-hint");
    if (hint) hint.hidden = false;
    box.dataset.current = cy.nodes(".current").map(function (n) { return n.data("label"); }).join(",");

    function say(edge) {
      if (!tip) return;
      tip.textContent = edge ? edge.data("name") + " — " + tip.dataset.owners + " " + edge.data("owners") : "";
    }
    cy.on("mouseover", "edge", function (evt) { evt.target.addClass("hover"); say(evt.target); });
    cy.on("mouseout", "edge", function (evt) { evt.target.removeClass("hover"); });
    cy.on("tap", "edge", function (evt) {
      var edge = evt.target;
      say(edge);
      if (!edge.hasClass("reassign")) return;
      var form = document.getElementById("bp-reassign-form-" + edge.data("transition"));
      if (!form) return;
      form.classList.add("bp-reassign-open");
      form.scrollIntoView({ block: "center" });
      var select = form.querySelector("select");
      if (select) select.focus();
    });
  }

  draw();
  if (!window.__bpFlowListening) {
    window.__bpFlowListening = true;
    document.addEventListener("htmx:afterSettle", draw);
  }
})();
