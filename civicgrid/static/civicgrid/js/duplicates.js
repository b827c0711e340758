/* "已有人反映": while a report is being written, show open public matters of the same category
   within 100 m of the chosen point (the portal's /duplicates/ projection), so the reporter can
   follow one of them instead. Works on the portal's and the field app's report forms. */
(function () {
  "use strict";
  var box = document.getElementById("dupes");
  if (!box || !window.fetch) return;
  var cat = document.getElementById("category"), lat = document.getElementById("lat"),
      lng = document.getElementById("lng"), crs = document.getElementById("crs");
  if (!cat || !lat || !lng) return;
  var last = "";
  function render(items) {
    box.textContent = "";
    if (!items.length) { box.hidden = true; return; }
    var h = document.createElement("div"); h.className = "dupes-title";
    h.textContent = box.dataset.title; box.appendChild(h);
    var p = document.createElement("div"); p.className = "muted small";
    p.textContent = box.dataset.hint; box.appendChild(p);
    var ul = document.createElement("ul"); ul.className = "m-list";
    items.forEach(function (it) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.className = "m-item"; a.href = it.url; a.target = "_blank"; a.rel = "noopener";
      a.setAttribute("data-dupe", it.id);
      var b = document.createElement("div"); b.className = "body";
      var t = document.createElement("div"); t.className = "t";
      var tx = document.createElement("span"); tx.className = "tx"; tx.textContent = it.category;
      var tag = document.createElement("span"); tag.className = "tag warn"; tag.textContent = it.state_label;
      t.appendChild(tx); t.appendChild(tag);
      var m = document.createElement("div"); m.className = "meta";
      var s1 = document.createElement("span"); s1.textContent = it.area;
      var s2 = document.createElement("span"); s2.textContent = (it.reported_at || "").slice(5, 16).replace("T", " ");
      var s3 = document.createElement("span"); s3.textContent = box.dataset.follow;
      m.appendChild(s1); m.appendChild(s2); m.appendChild(s3);
      b.appendChild(t); b.appendChild(m); a.appendChild(b); li.appendChild(a); ul.appendChild(li);
    });
    box.appendChild(ul); box.hidden = false;
  }
  function check() {
    if (!cat.value || !lat.value || !lng.value) { if (last) { last = ""; render([]); } return; }
    var key = [cat.value, lat.value, lng.value, crs ? crs.value : ""].join("|");
    if (key === last) return;
    last = key;
    var q = new URLSearchParams({ category: cat.value, lat: lat.value, lng: lng.value, crs: crs ? crs.value : "wgs84" });
    fetch(box.dataset.url + "?" + q.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (d) { if (key === last) render(d.items || []); })
      .catch(function () { /* offline: no suggestions */ });
  }
  cat.addEventListener("change", check);
  // The map script sets the hidden position fields without an event: look at them now and then.
  setInterval(check, 1200);
})();
