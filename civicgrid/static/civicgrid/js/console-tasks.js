/* Department task composer: grids chosen by area or by clicking them on the map (Leaflet). The
 * checkboxes are the form's truth; the map mirrors them. */
(function () {
  "use strict";
  var form = document.getElementById("compose-form");
  if (!form) return;
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="grids"]'));
  var count = document.getElementById("grid-count");
  var layers = {};
  var ON = { color: "#1456b8", weight: 2, fillColor: "#1456b8", fillOpacity: 0.35 };
  var OFF = { color: "#7f97bd", weight: 1, fillColor: "#f4f7fb", fillOpacity: 0.6 };

  function textEl(s) { var e = document.createElement("span"); e.textContent = s; return e; }
  function box(code) { return boxes.filter(function (b) { return b.value === code; })[0]; }
  function refresh() {
    var n = 0;
    boxes.forEach(function (b) {
      if (b.checked) n++;
      var l = layers[b.value];
      if (l) l.setStyle(b.checked ? ON : OFF);
    });
    var b = count && count.querySelector("b");
    if (b) b.textContent = String(n);
  }
  boxes.forEach(function (b) { b.addEventListener("change", refresh); });
  form.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-grids]");
    if (!btn) return;
    var area = document.getElementById("compose-area").value;
    boxes.forEach(function (b) {
      if (btn.dataset.grids === "none") b.checked = false;
      else if (area && b.dataset.area.indexOf(area) === 0) b.checked = true;
    });
    refresh();
  });
  var dept = document.getElementById("compose-department");
  if (dept) dept.addEventListener("change", function () {
    location.href = dept.dataset.reload + "?department=" + encodeURIComponent(dept.value);
  });

  var el = document.getElementById("compose-map");
  var cfgEl = document.getElementById("compose-map-config");
  if (!el || !cfgEl || typeof L === "undefined") { refresh(); return; }
  var cfg = JSON.parse(cfgEl.textContent);
  var map = L.map(el, { maxZoom: 19, minZoom: 5, attributionControl: !!cfg.tile_url, preferCanvas: true });
  if (cfg.tile_url) L.tileLayer(cfg.tile_url, { attribution: cfg.tile_attribution || "", maxZoom: 19 }).addTo(map);
  else el.classList.add("map-vector");
  el.civicgridMap = map;
  var group = L.featureGroup().addTo(map);
  (cfg.grids || []).forEach(function (g) {
    var layer = L.geoJSON({ type: "Feature", geometry: g.geometry, properties: {} }, { style: OFF });
    layer.bindTooltip(textEl(g.name), { sticky: true });
    layer.on("click", function () {
      var b = box(g.code);
      if (!b) return;
      b.checked = !b.checked;
      refresh();
    });
    layers[g.code] = layer;
    layer.addTo(group);
  });
  if (group.getLayers().length) map.fitBounds(group.getBounds(), { padding: [10, 10] });
  else map.setView([39.9, 116.4], 10);
  refresh();
})();
