/* Behaviour every page shares, kept out of the markup so the CSP can forbid inline script. */
(function () {
  "use strict";
  // <select data-autosubmit>: a filter that applies as soon as it changes.
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el && el.matches && el.matches("[data-autosubmit]") && el.form) el.form.submit();
  });
  // <button data-print>: print the page.
  document.addEventListener("click", function (e) {
    var el = e.target && e.target.closest ? e.target.closest("[data-print]") : null;
    if (el) window.print();
  });
  // Polling fragments (hx-trigger="every Ns", data-poll-visible) ask only while the tab is seen.
  // A trigger filter ("[document.visibilityState === ...]") would be evaluated by htmx as code,
  // which the CSP forbids (no 'unsafe-eval').
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail && e.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-poll-visible") && document.visibilityState !== "visible") {
      e.preventDefault();
    }
  });
})();
