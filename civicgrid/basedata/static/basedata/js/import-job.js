/* The import job page: poll the job's status (JSON) every 1.5 s and move the progress bar; when
 * the job has finished, reload the page, which the server renders with the job's report (bad
 * rows, or the counts created/updated). Included only while the job is queued or running. */
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  var bar = document.getElementById("import-progress");
  var text = document.getElementById("import-progress-text");
  if (!box || !bar || box.getAttribute("data-finished") === "1") return;
  var url = box.getAttribute("data-status-url");
  var fill = bar.querySelector("span");
  var delay = 1500, failures = 0, last = -1;

  function show(st) {
    var pct = Math.max(last, Number(st.percent) || 0); // never moves back
    last = pct;
    bar.setAttribute("aria-valuenow", String(pct));
    bar.setAttribute("aria-valuetext", st.text || pct + "%");
    if (fill) fill.style.width = pct + "%";
    if (text) text.textContent = st.text || pct + "%";
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 404 || r.status === 403) throw new Error("gone");
        if (!r.ok) throw new Error("status " + r.status);
        return r.json();
      })
      .then(function (st) {
        failures = 0;
        show(st);
        if (st.finished) { window.location.reload(); return; }
        window.setTimeout(poll, delay);
      })
      .catch(function (err) {
        if (err && err.message === "gone") return;
        failures += 1; // the server or the network is away: back off, up to 15 s
        window.setTimeout(poll, Math.min(15000, delay * Math.pow(2, failures)));
      });
  }

  window.setTimeout(poll, delay);
})();
