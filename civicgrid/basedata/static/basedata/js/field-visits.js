/* Visits due in the field app: one tap records a visit; the form adds a note, a photo and findings,
 * which can raise a case. Each visit is one outbox item (client UUID) sent to
 * /api/basedata/visits/field: a retry after a lost answer records nothing twice. */
(function () {
  "use strict";
  CG.loadData();
  var T = CG.T;
  var tpl = document.getElementById("visit-form-tpl");
  var pos = null;
  // The position is a bonus, never a wait: take it when the phone has one.
  CG.locate({ timeout: 8000 }).then(function (p) { if (p.crs === "wgs84") pos = p; }, function () {});

  function send(li, extra, files) {
    var id = CG.uuid();
    var fields = Object.assign({ client_id: id, tag_id: li.dataset.tag, at: String(Date.now()) }, extra || {});
    if (pos) { fields.lat = pos.lat.toFixed(7); fields.lng = pos.lng.toFixed(7); }
    li.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    return CG.submit({ id: id, kind: "visit", url: "/api/basedata/visits/field", label: T.visit + " · " + li.dataset.name,
      summary: (extra && (extra.findings || extra.note) || "").slice(0, 60), fields: fields, files: files || [] }).then(function (r) {
      li.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      if (r.state === "failed") { CG.toast(r.error || T.failed, 4000); return; }
      li.classList.add("done");
      li.querySelector(".js-form").innerHTML = "";
      var st = li.querySelector(".js-state");
      if (r.state === "sent") {
        st.textContent = "✓ " + T.visited + (r.data.tracking_code ? " · " + T.caseRaised + " " + r.data.tracking_code : "");
        CG.toast(T.visited + " ✓");
      } else {
        st.textContent = T.savedOffline;
        CG.toast(T.savedOffline, 3000);
      }
    });
  }

  document.querySelectorAll(".bd-visit").forEach(function (li) {
    li.querySelector(".js-quick").addEventListener("click", function () { send(li); });
    li.querySelector(".js-more").addEventListener("click", function () {
      var holder = li.querySelector(".js-form");
      if (holder.firstChild) { holder.innerHTML = ""; return; }
      holder.appendChild(tpl.content.cloneNode(true));
      var form = holder.querySelector("form");
      CG.initPickers(form);
      var raise = form.querySelector("[name=raise]"), cat = form.querySelector("[name=case_category]");
      raise.addEventListener("change", function () { cat.classList.toggle("hidden", !raise.checked); });
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var findings = form.querySelector("[name=findings]").value.trim();
        if (raise.checked && !cat.value) return CG.toast(T.needCat);
        if (raise.checked && !findings) return CG.toast(T.needFindings);
        var extra = { note: form.querySelector("[name=note]").value.trim(), findings: findings, case_category: raise.checked ? cat.value : "" };
        CG.pickedFiles(form.querySelector("[data-picker]"), "photo").then(function (files) { send(li, extra, files.slice(0, 1)); });
      });
    });
  });
})();
