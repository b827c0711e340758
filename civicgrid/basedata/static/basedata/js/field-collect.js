/* Base-data collection in the field app: choose a house (map or address) or tap the map for a new
 * one, then the household's persons and their tags in one form. The whole form is one outbox item
 * (client UUID) sent to /api/basedata/collect: sent now, or when the network is back, never twice. */
(function () {
  "use strict";
  CG.loadData();
  var T = CG.T;
  var $ = function (id) { return document.getElementById(id); };
  var read = function (id, dflt) { var el = $(id); return el ? JSON.parse(el.textContent || "null") || dflt : dflt; };
  var form = $("collect-form");
  if (!form) return;
  var grids = read("grids-geojson", null), houses = read("houses-data", []), kinds = read("kinds-data", []);
  var choices = read("choices-data", {}), settings = read("map-settings", {});
  var kindBy = {};
  kinds.forEach(function (k) { kindBy[k.code] = k; });
  var current = null; // {house} or {point}

  function options(list, value) {
    return list.map(function (c) {
      return '<option value="' + CG.esc(c[0]) + '"' + (c[0] === value ? " selected" : "") + ">" + CG.esc(c[1]) + "</option>";
    }).join("");
  }
  $("h-use").innerHTML = options(choices.use || [], "own");

  // --- map ------------------------------------------------------------------------------------
  var map = L.map("map", { zoomControl: false, attributionControl: !!settings.tiles });
  if (settings.tiles) L.tileLayer(settings.tiles, { attribution: settings.attribution, maxZoom: 19 }).addTo(map);
  var layer = CG.drawGrids(map, grids);
  if (layer) map.fitBounds(layer.getBounds(), { padding: [8, 8] }); else map.setView([39.9, 116.4], 13);
  var markers = {}, pin = null;
  houses.forEach(function (h) {
    var m = L.circleMarker([h.lat, h.lng], { radius: 6, weight: 1.5, color: "#1668dc", fillColor: h.persons.length ? "#1668dc" : "#ffffff", fillOpacity: 0.8 });
    m.bindTooltip(CG.text(h.label + " · " + h.persons.length + " " + T.persons));
    m.on("click", function (e) { L.DomEvent.stopPropagation(e); chooseHouse(h); });
    m.addTo(map);
    markers[h.id] = m;
  });

  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function myGrid(lat, lng) {
    var fs = (grids && grids.features) || [];
    for (var i = 0; i < fs.length; i++) {
      var g = fs[i].geometry, polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
      for (var k = 0; k < polys.length; k++) {
        if (inRing(lng, lat, polys[k][0]) && !polys[k].slice(1).some(function (h) { return inRing(lng, lat, h); })) return fs[i].properties;
      }
    }
    return null;
  }
  map.on("click", function (e) {
    var g = myGrid(e.latlng.lat, e.latlng.lng);
    if (!g) { CG.toast(T.outside); return; }
    chooseNew(e.latlng.lat, e.latlng.lng, g);
  });

  // --- search by address ----------------------------------------------------------------------
  var q = $("house-q"), hits = $("house-hits");
  q.addEventListener("input", function () {
    var words = q.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) { hits.innerHTML = ""; return; }
    var found = houses.filter(function (h) {
      var s = (h.label + " " + h.address + " " + h.building + " " + h.unit + " " + h.room).toLowerCase();
      return words.every(function (w) { return s.indexOf(w) >= 0; });
    }).slice(0, 12);
    hits.innerHTML = found.length ? found.map(function (h) {
      return '<li><a class="m-item" href="#" data-id="' + h.id + '"><div class="body"><div class="t"><span class="tx">' + CG.esc(h.label) +
        '</span></div><div class="meta"><span>' + h.persons.length + " " + CG.esc(T.persons) + "</span></div></div></a></li>";
    }).join("") : '<li class="m-empty">' + CG.esc(T.noHits) + "</li>";
  });
  hits.addEventListener("click", function (e) {
    var a = e.target.closest("a[data-id]");
    if (!a) return;
    e.preventDefault();
    var id = parseInt(a.dataset.id, 10);
    houses.forEach(function (h) { if (h.id === id) chooseHouse(h); });
  });

  // --- house ----------------------------------------------------------------------------------
  function showForm() {
    form.classList.remove("hidden");
    $("saved-banner").classList.add("hidden");
  }
  function chooseHouse(h) {
    current = { house: h };
    if (pin) { map.removeLayer(pin); pin = null; }
    map.setView([h.lat, h.lng], Math.max(map.getZoom(), 17));
    hits.innerHTML = ""; q.value = "";
    $("house-known").classList.remove("hidden");
    $("house-new").classList.add("hidden");
    $("house-title").textContent = T.house;
    $("house-label").textContent = h.label;
    $("house-grid").textContent = h.grid;
    $("h-use").value = h.use;
    renderPersons(h.persons.map(function (p) { return Object.assign({ known: true }, p); }));
    showForm();
    form.scrollIntoView({ behavior: "smooth" });
  }
  function chooseNew(lat, lng, g) {
    current = { point: { lat: lat, lng: lng } };
    if (!pin) pin = L.marker([lat, lng], { icon: L.divIcon({ className: "cg-pin me", iconSize: [16, 16] }) }).addTo(map);
    else pin.setLatLng([lat, lng]);
    $("house-known").classList.add("hidden");
    $("house-new").classList.remove("hidden");
    $("house-title").textContent = T.newHouse;
    $("h-point").textContent = T.chosen + " · " + g.name + " · " + lat.toFixed(5) + ", " + lng.toFixed(5);
    $("h-use").value = "own";
    renderPersons([{ relation: "head" }]);
    showForm();
  }

  // --- persons --------------------------------------------------------------------------------
  var box = $("persons");
  function tagFields(kind, data, prefix) {
    return (kind.fields || []).map(function (f) {
      var id = prefix + "-" + f.name, v = data && data[f.name] != null ? data[f.name] : "";
      var input;
      if (f.type === "choice") {
        input = '<select id="' + id + '" data-field="' + CG.esc(f.name) + '"><option value=""></option>' +
          options((f.choices || []).map(function (c) { return [c, c]; }), String(v)) + "</select>";
      } else {
        var type = f.type === "int" ? "number" : f.type === "date" ? "date" : "text";
        input = '<input type="' + type + '" id="' + id + '" data-field="' + CG.esc(f.name) + '" value="' + CG.esc(v) + '"' +
          (f.min != null ? ' min="' + f.min + '"' : "") + (f.max != null ? ' max="' + f.max + '"' : "") + ">";
      }
      return '<div class="bd-tf"><label class="l" for="' + id + '">' + CG.esc(f.label || f.name) + (f.required ? '<span class="req">*</span>' : "") + "</label>" + input + "</div>";
    }).join("");
  }
  var seq = 0;
  function personCard(p) {
    var n = ++seq, has = {};
    (p.tags || []).forEach(function (t) { has[t.kind] = t.data || {}; });
    var el = document.createElement("div");
    el.className = "m-card flush bd-person";
    if (p.id) el.dataset.id = p.id;
    var tagsHtml = kinds.map(function (k) {
      var on = Object.prototype.hasOwnProperty.call(has, k.code);
      return '<div class="bd-tag' + (on ? " on" : "") + '" data-kind="' + CG.esc(k.code) + '"><label class="bd-check"><input type="checkbox"' + (on ? " checked disabled" : "") + "> " +
        CG.esc(k.name) + (k.sensitive ? ' <span class="tag danger">' + CG.esc(T.sensitive) + "</span>" : "") + "</label>" +
        '<div class="bd-tfs' + (on ? "" : " hidden") + '">' + tagFields(k, has[k.code], "t" + n + "-" + k.code) + "</div></div>";
    }).join("");
    el.innerHTML =
      '<div class="f bd-phead"><b>' + CG.esc(p.known ? p.name : T.person) + "</b>" + (p.known ? ' <span class="tag grey">' + CG.esc(T.onFile) + " · " + CG.esc(p.id_number) + "</span>" : "") +
      (p.known ? "" : '<button type="button" class="m-btn sm line js-remove">' + CG.esc(T.remove) + "</button>") + "</div>" +
      '<div class="f"><label class="l">' + CG.esc(T.name) + '<span class="req">*</span></label><input type="text" class="p-name" maxlength="50" value="' + CG.esc(p.name || "") + '"></div>' +
      (p.known ? "" : '<div class="f"><label class="l">' + CG.esc(T.idType) + '</label><select class="p-idtype">' + options(choices.id_type || [], "resident") + "</select></div>") +
      '<div class="f"><label class="l">' + CG.esc(T.idNumber) + (p.known ? "" : '<span class="req">*</span>') + '</label><input type="text" class="p-id" maxlength="24" autocomplete="off"' +
      (p.known ? ' placeholder="' + CG.esc(T.idKeep) + '"' : "") + "></div>" +
      '<div class="f"><label class="l">' + CG.esc(T.phone) + '</label><input type="tel" class="p-phone" maxlength="20" autocomplete="off"' +
      (p.known && p.phone ? ' placeholder="' + CG.esc(p.phone + " · " + T.phoneKeep) + '"' : "") + "></div>" +
      '<div class="f bd-row2"><div><label class="l">' + CG.esc(T.category) + '</label><select class="p-category">' + options(choices.category || [], p.category || "registered") + "</select></div>" +
      '<div><label class="l">' + CG.esc(T.relation) + '</label><select class="p-relation"><option value="">' + CG.esc(T.noRelation) + "</option>" + options(choices.relation || [], p.relation || "") + "</select></div></div>" +
      '<details class="f bd-tags"' + ((p.tags || []).length ? " open" : "") + "><summary>" + CG.esc(T.tags) + ((p.tags || []).length ? " · " + p.tags.length : "") + "</summary>" + tagsHtml + "</details>";
    el.querySelectorAll(".bd-tag input[type=checkbox]").forEach(function (cb) {
      cb.addEventListener("change", function () {
        var t = cb.closest(".bd-tag");
        t.classList.toggle("on", cb.checked);
        t.querySelector(".bd-tfs").classList.toggle("hidden", !cb.checked);
      });
    });
    var rm = el.querySelector(".js-remove");
    if (rm) rm.addEventListener("click", function () { el.remove(); count(); });
    return el;
  }
  function count() { $("person-count").textContent = box.children.length + " " + T.persons; }
  function renderPersons(list) {
    box.innerHTML = ""; seq = 0;
    list.forEach(function (p) { box.appendChild(personCard(p)); });
    if (!list.length) box.appendChild(personCard({ relation: "head" }));
    count();
  }
  $("add-person").addEventListener("click", function () {
    var hasHead = Array.prototype.some.call(box.querySelectorAll(".p-relation"), function (s) { return s.value === "head"; });
    var el = personCard({ relation: hasHead ? "other" : "head" });
    box.appendChild(el); count();
    el.querySelector(".p-name").focus();
  });

  // --- submit ---------------------------------------------------------------------------------
  function collectPersons() {
    var out = [], problem = null;
    box.querySelectorAll(".bd-person").forEach(function (el) {
      if (problem) return;
      var v = function (sel) { var i = el.querySelector(sel); return i ? i.value.trim() : ""; };
      var p = { name: v(".p-name"), category: v(".p-category"), relation: v(".p-relation"), tags: [] };
      if (!p.name) { problem = T.needName; return; }
      if (el.dataset.id) p.id = parseInt(el.dataset.id, 10);
      var idn = v(".p-id"), phone = v(".p-phone");
      if (idn) { p.id_number = idn; p.id_type = v(".p-idtype") || undefined; }
      else if (!p.id) { problem = T.needId; return; }
      if (phone) p.phone = phone;
      el.querySelectorAll(".bd-tag.on").forEach(function (t) {
        var kind = kindBy[t.dataset.kind], data = {};
        t.querySelectorAll("[data-field]").forEach(function (i) { if (i.value !== "") data[i.dataset.field] = i.value; });
        (kind.fields || []).forEach(function (f) { if (!problem && f.required && data[f.name] == null) problem = T.needField + " " + kind.name + " · " + (f.label || f.name); });
        p.tags.push({ kind: kind.code, data: data });
      });
      out.push(p);
    });
    return { persons: out, problem: problem };
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!current) return;
    var house;
    if (current.house) house = { id: current.house.id, use: $("h-use").value };
    else {
      house = { lat: current.point.lat, lng: current.point.lng, crs: "wgs84", address: $("h-address").value.trim(),
        building: $("h-building").value.trim(), unit: $("h-unit").value.trim(), room: $("h-room").value.trim(), use: $("h-use").value };
      if (!house.address || !house.building || !house.room) return CG.toast(T.needHouse, 3000);
    }
    var r = collectPersons();
    if (r.problem) return CG.toast(r.problem, 3500);
    var btn = $("submit"); btn.disabled = true;
    var id = CG.uuid();
    var label = current.house ? current.house.label : house.address + " " + house.building + "-" + house.room;
    CG.submit({ id: id, kind: "collect", url: "/api/basedata/collect", label: T.collect + " · " + label,
      summary: r.persons.map(function (p) { return p.name; }).join("、"),
      json: { client_id: id, house: house, persons: r.persons } }).then(function (res) {
      btn.disabled = false;
      if (res.state === "failed") { CG.toast(res.error || T.failed, 5000); return; }
      var banner = $("saved-banner");
      banner.classList.remove("hidden");
      banner.classList.toggle("warn", res.state !== "sent");
      banner.classList.toggle("ok", res.state === "sent");
      $("saved-text").textContent = res.state === "sent" ? T.saved + " · " + (res.data.house || "") : T.savedOffline;
      form.classList.add("hidden");
      current = null;
      if (pin) { map.removeLayer(pin); pin = null; }
      window.scrollTo(0, 0);
      // Online: reload so the map and the residents show what was just saved.
      if (res.state === "sent") setTimeout(function () { location.reload(); }, 1200);
    });
  });
})();
