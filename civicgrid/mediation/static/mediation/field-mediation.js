/* Mediation in the field app: 排查 registrations and 回访 visits through the phone's outbox.
 * Each item carries a client UUID (client_id), so a retry after a lost answer creates nothing twice. */
(function () {
  "use strict";
  CG.loadData();
  var T = CG.T;

  function done(r, form, home) {
    var buttons = form.querySelectorAll("button");
    if (r.state === "sent") { CG.toast(T.sent + " ✓"); setTimeout(function () { location.href = home || location.href; }, 700); }
    else if (r.state === "failed") { CG.toast(r.error || T.failed, 4000); buttons.forEach(function (b) { b.disabled = false; }); }
    else { CG.toast(T.queued, 3000); setTimeout(function () { location.href = CG.urls.outbox; }, 1200); }
  }
  function lock(form) { form.querySelectorAll("button").forEach(function (b) { b.disabled = true; }); }

  var reg = document.getElementById("dispute-form");
  if (reg) reg.addEventListener("submit", function (e) {
    e.preventDefault();
    var f = reg.elements, id = CG.uuid();
    if (!f.title.value.trim() || !f.facts.value.trim() || !f.applicant.value.trim()) { CG.toast(T.needText); return; }
    var parties = [{ role: "applicant", name: f.applicant.value.trim(), id_number: f.applicant_id.value.trim() }];
    if (f.respondent.value.trim()) parties.push({ role: "respondent", name: f.respondent.value.trim() });
    var json = { client_id: id, source: "screening", grid: f.grid.value, kind: f.kind.value,
      title: f.title.value.trim(), facts: f.facts.value.trim(), parties: parties,
      violence_flag: f.violence_flag.checked };
    if (f.amount.value.trim()) json.amount = f.amount.value.trim();
    lock(reg);
    CG.submit({ id: id, kind: "dispute", label: T.dispute + " · " + json.title, url: "/api/mediation/", json: json,
      summary: json.facts.slice(0, 60) }).then(function (r) { done(r, reg, reg.dataset.home); });
  });

  document.querySelectorAll("form.js-visit").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var f = form.elements, id = CG.uuid(), note = f.note.value.trim();
      if (!note) { CG.toast(T.needText); return; }
      lock(form);
      CG.submit({ id: id, kind: "visit", label: T.visit + " · " + form.dataset.code,
        url: "/api/mediation/" + form.dataset.dispute + "/field-visit",
        json: { client_id: id, note: note, fulfilled: f.fulfilled.checked, satisfied: f.satisfied.checked,
          relapse: f.relapse.checked }, summary: note.slice(0, 60) }).then(function (r) { done(r, form); });
    });
  });

  document.querySelectorAll("form.js-simple").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var name = form.dataset.field, text = form.elements[name].value.trim(), id = CG.uuid();
      if (!text) { CG.toast(T.needText); return; }
      var json = { version: parseInt(form.dataset.version, 10) }; json[name] = text;
      lock(form);
      CG.submit({ id: id, kind: "dispute", label: T.dispute + " · " + form.dataset.code, url: form.dataset.url,
        json: json, summary: text.slice(0, 60) }).then(function (r) { done(r, form); });
    });
  });
})();
