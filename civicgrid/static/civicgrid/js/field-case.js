/* Case and grid-task actions (sign, submit, self-close, verify, rework, whistle, complete) via the
   outbox. */
(function () {
  "use strict";
  CG.loadData();
  var T = CG.T;
  CG.initPickers(document);

  function go(form, action, text) {
    var picker = form.querySelector("[data-picker]");
    var needPhoto = form.dataset.needPhoto === "1" && action !== "rework" && action !== "verify";
    if (action !== "sign" && !text) { CG.toast(T.needText); return; }
    if (needPhoto && !(picker && picker._files.length)) { CG.toast(T.needPhoto); return; }
    if (action === "whistle" && !form.querySelector("input[name=departments]:checked")) {
      CG.toast(T.needDepartments); return;
    }
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    var id = CG.uuid();
    var item = { id: id, kind: action, label: (T[action] || action) + " · " + (form.dataset.code || "") };
    if (action === "task") {
      item.url = "/api/field/tasks/" + form.dataset.task + "/complete";
      item.fields = { client_id: id, result: text };
    } else {
      item.url = "/api/field/cases/" + form.dataset.case + "/" + action;
      item.fields = { client_id: id, text: text || "" };
      if (action === "whistle") {
        item.fields.departments = Array.prototype.map.call(
          form.querySelectorAll("input[name=departments]:checked"), function (c) { return c.value; });
      }
    }
    item.summary = text ? text.slice(0, 60) : "";
    (action === "rework" || action === "verify" || action === "sign" || action === "whistle" ? Promise.resolve([]) : CG.pickedFiles(picker, "photos"))
      .then(function (files) { item.files = files; return CG.submit(item); })
      .then(function (r) {
        if (r.state === "sent") {
          CG.toast(T.sent + " ✓");
          setTimeout(function () { location.reload(); }, 700);
        } else if (r.state === "failed") {
          CG.toast(r.error || T.failed, 4000);
          buttons.forEach(function (b) { b.disabled = false; });
        } else {
          CG.toast(T.queued, 3000);
          setTimeout(function () { location.href = CG.urls.outbox; }, 1200);
        }
      });
  }

  document.querySelectorAll("form.js-act").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var ta = form.querySelector("textarea[name=text]");
      go(form, form.dataset.action, ta ? ta.value.trim() : "");
    });
    var rw = form.querySelector(".js-rework");
    if (rw) rw.addEventListener("click", function () {
      var reason = prompt(T.reworkReason, "");
      if (reason && reason.trim()) go(form, "rework", reason.trim());
    });
  });
})();
