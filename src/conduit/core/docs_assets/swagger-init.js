// Starts Swagger UI on /docs. Its settings come from the page's JSON data block, so the
// page needs no inline script and runs under a strict Content-Security-Policy.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("swagger-ui-config").textContent);
  // Swagger UI opens the OAuth2 redirect page by absolute URL.
  config.oauth2RedirectUrl = new URL(config.oauth2RedirectUrl, window.location.href).href;
  config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  window.ui = SwaggerUIBundle(config);
})();
