// The API reference (issue 16): Swagger UI, vendored under static/vendor/swagger-ui/, reading
// this portal's OpenAPI schema. No inline script: the page's CSP allows our own files only.
(function () {
  "use strict";
  function start() {
    var root = document.getElementById("swagger-ui");
    if (!root || typeof window.SwaggerUIBundle !== "function") return;
    // The schema is read as JSON here and handed over as an object: Swagger UI would parse
    // a fetched document as YAML, which is slower and stricter than JSON.
    fetch(root.getAttribute("data-schema-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status + " " + response.statusText);
        return response.json();
      })
      .then(function (spec) {
        window.SwaggerUIBundle({
          spec: spec,
          dom_id: "#swagger-ui",
          deepLinking: true,
          layout: "BaseLayout",
          presets: [window.SwaggerUIBundle.presets.apis],
        });
      })
      .catch(function (error) {
        root.textContent = root.getAttribute("data-failed") + " " + error.message;
      });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
