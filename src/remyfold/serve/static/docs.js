// Starts the vendored Swagger UI on /docs (kept out of the page: the CSP allows no inline script).
"use strict";
window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  if (root && window.SwaggerUIBundle) {
    window.ui = window.SwaggerUIBundle({ url: root.dataset.url, dom_id: "#swagger-ui", deepLinking: true });
  }
});
