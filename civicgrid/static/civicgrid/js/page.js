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
  // The field app's service worker keeps signed-in pages for offline use (sw.js). They are the
  // user's own: wipe them before a sign-out goes and whenever a sign-in page shows.
  function forgetPages() {
    if (!window.caches) return Promise.resolve();
    return caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf("cg-pages") === 0 || k === "cg-meta"; })
        .map(function (k) { return caches.delete(k); }));
    }).catch(function () {});
  }
  if (document.querySelector('meta[name="cg-signed-out"]')) forgetPages();
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-signout]") || form.dataset.wiped) return;
    e.preventDefault();
    var go = function () { form.dataset.wiped = "1"; form.submit(); };
    var timer = setTimeout(go, 1500);
    forgetPages().then(function () { clearTimeout(timer); go(); });
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
