/* civicgrid console: SLA countdowns, photo lightbox, bulk selection, small conveniences.
 * Server-rendered pages work without this file; it only keeps clocks ticking and adds comfort. */
(function () {
  "use strict";

  var i18n = {};
  try {
    var node = document.getElementById("console-i18n");
    if (node) i18n = JSON.parse(node.textContent);
  } catch (e) { i18n = {}; }

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (_, k) { return values[k]; });
  }

  function duration(seconds) {
    seconds = Math.abs(Math.floor(seconds));
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600),
        m = Math.floor((seconds % 3600) / 60);
    if (d) return fmt(i18n.d || "%(d)sd %(h)sh", { d: d, h: h });
    if (h) return fmt(i18n.h || "%(h)sh %(m)sm", { h: h, m: m });
    return fmt(i18n.m || "%(m)sm", { m: m });
  }

  /* Countdown: the server rendered the first text; this keeps it honest while the page is open. */
  function tick(root) {
    var now = Date.now();
    (root || document).querySelectorAll(".sla[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var warn = el.dataset.warn ? Date.parse(el.dataset.warn) : NaN;
      var left = (due - now) / 1000;
      var light = left <= 0 ? "overdue" : (!isNaN(warn) && now >= warn ? "warning" : "normal");
      el.classList.remove("sla-normal", "sla-warning", "sla-overdue");
      el.classList.add("sla-" + light);
      el.textContent = left > 0 ? fmt(i18n.left || "%(t)s left", { t: duration(left) })
                                : fmt(i18n.overdue || "%(t)s overdue", { t: duration(left) });
    });
  }

  function clock() {
    var el = document.querySelector("[data-clock]");
    if (!el) return;
    var d = new Date();
    function p(n) { return (n < 10 ? "0" : "") + n; }
    el.textContent = d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " +
      p(d.getHours()) + ":" + p(d.getMinutes());
  }

  /* Lightbox: any [data-lightbox] container of a.thumb links; arrows and Esc work. */
  var box = null, items = [], index = 0;
  function openBox(list, i) {
    items = list; index = i;
    if (!box) {
      box = document.createElement("div");
      box.className = "lightbox";
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-modal", "true");
      box.innerHTML = '<button type="button" class="lb-close" aria-label="' + (i18n.close || "Close") + '">×</button>' +
        '<button type="button" class="lb-prev" aria-label="' + (i18n.prev || "Previous") + '">‹</button>' +
        '<img alt=""><div class="lb-count"></div>' +
        '<button type="button" class="lb-next" aria-label="' + (i18n.next || "Next") + '">›</button>';
      document.body.appendChild(box);
      box.addEventListener("click", function (e) {
        if (e.target.classList.contains("lb-prev")) show(index - 1);
        else if (e.target.classList.contains("lb-next")) show(index + 1);
        else if (e.target.tagName !== "IMG") closeBox();
      });
    }
    box.classList.add("open");
    show(i);
  }
  function show(i) {
    index = (i + items.length) % items.length;
    box.querySelector("img").src = items[index];
    box.querySelector(".lb-count").textContent = (index + 1) + " / " + items.length;
    box.querySelector(".lb-prev").hidden = box.querySelector(".lb-next").hidden = items.length < 2;
  }
  function closeBox() { if (box) box.classList.remove("open"); }
  document.addEventListener("keydown", function (e) {
    if (!box || !box.classList.contains("open")) return;
    if (e.key === "Escape") closeBox();
    if (e.key === "ArrowLeft") show(index - 1);
    if (e.key === "ArrowRight") show(index + 1);
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest("[data-lightbox] a.thumb");
    if (!a) return;
    e.preventDefault();
    var links = Array.prototype.slice.call(a.closest("[data-lightbox]").querySelectorAll("a.thumb"));
    openBox(links.map(function (x) { return x.dataset.full || x.href; }), links.indexOf(a));
  });

  /* Bulk selection on the case list. */
  function selectedCount() {
    var n = document.querySelectorAll('input[name="ids"]:checked').length;
    var label = document.querySelector("[data-selected-count]");
    if (label) label.textContent = n ? "✔ " + n : label.dataset.empty || label.textContent;
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches("[data-check-all]")) {
      var table = e.target.closest("table");
      table.querySelectorAll('input[name="ids"]').forEach(function (c) { c.checked = e.target.checked; });
    }
    if (e.target.matches('input[name="ids"], [data-check-all]')) selectedCount();
  });
  document.addEventListener("htmx:load", function () {
    var label = document.querySelector("[data-selected-count]");
    if (label && !label.dataset.empty) label.dataset.empty = label.textContent;
  });

  /* Copy the address of the current list view (filters live in the URL). */
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-copy-link]");
    if (!b) return;
    var done = function () { b.classList.add("copied"); setTimeout(function () { b.classList.remove("copied"); }, 1500); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(location.href).then(done, done);
    else { window.prompt("URL", location.href); }
  });

  /* Enter in a helper search box must not submit the surrounding form. */
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target.matches('input[name="place"]')) e.preventDefault();
  });

  document.addEventListener("htmx:afterSwap", function (e) { tick(e.target); });
  document.addEventListener("DOMContentLoaded", function () { tick(); clock(); });
  setInterval(function () { tick(); clock(); }, 30000);

  window.civicgridConsole = { i18n: i18n, fmt: fmt, tick: tick };
})();
