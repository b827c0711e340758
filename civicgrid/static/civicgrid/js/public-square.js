// 广场地图: public matters as points; every text goes in as text, never as HTML.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("square-config").textContent);
  var map = L.map("square-map", { attributionControl: !!cfg.tiles });
  if (cfg.tiles) L.tileLayer(cfg.tiles, { attribution: cfg.attribution, maxZoom: 19 }).addTo(map);
  if (cfg.bounds) map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]]);
  else map.setView([39.9, 116.4], 11);
  var layer = L.layerGroup().addTo(map);
  var count = document.getElementById("square-count");
  var form = document.getElementById("square-filters");

  function popup(p) {
    var box = document.createElement("div");
    [p.category, p.state_label, new Date(p.reported_at).toLocaleString(), p.area].forEach(
      function (text, i) {
        var line = document.createElement(i === 0 ? "b" : "div");
        line.textContent = text || "";
        box.appendChild(line);
      }
    );
    return box;
  }

  function load() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (v) params.set(k, v); });
    fetch(cfg.data + "?" + params.toString(), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        layer.clearLayers();
        (fc.features || []).forEach(function (f) {
          var c = f.geometry.coordinates;
          var open = f.properties.status === "open";
          L.circleMarker([c[1], c[0]], {
            radius: 7, weight: 1, color: "#fff", fillOpacity: 0.9,
            fillColor: open ? "#e6a23c" : "#67c23a"
          }).bindPopup(popup(f.properties)).addTo(layer);
        });
        count.dataset.count = String((fc.features || []).length);
        var n = (fc.features || []).length;
        count.textContent = n ? n + " " + cfg.shown : cfg.empty;
      });
  }
  form.addEventListener("change", load);
  load();
})();
