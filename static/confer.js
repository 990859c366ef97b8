// Confer's browser code: an ES module, no build step, no inline script (our CSP forbids it).
// Pages work without it; this file adds GOV.UK component behaviour and, later, live updates.
import { initAll } from "/static/vendor/govuk-frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled");
if ("noModule" in HTMLScriptElement.prototype) {
  document.body.classList.add("govuk-frontend-supported");
}
initAll();
