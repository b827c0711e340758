/* Coverage report of an area (admin): the parent, its children and every problem piece. */
(function () {
  // Area and grid names are data: Leaflet gets a text node, never an HTML string.
  function textEl(s) {
    var e = document.createElement("span");
    e.textContent = s == null ? "" : String(s);
    return e;
  }
  var el = document.getElementById("coverage-map");
  if (!el || typeof L === "undefined") return;
  var data = JSON.parse(document.getElementById("coverage-data").textContent);
  var tiles = JSON.parse(document.getElementById("coverage-tiles").textContent);
  var map = L.map(el);
  if (tiles.url) L.tileLayer(tiles.url, {attribution: tiles.attribution, maxZoom: 19}).addTo(map);
  var styles = {
    parent: {color: "#222", weight: 2, fill: false},
    child: {color: "#417690", weight: 1, fillColor: "#79aec8", fillOpacity: 0.15},
    overlap: {color: "#d7301f", weight: 2, fillOpacity: 0.6},
    gap: {color: "#e69500", weight: 2, fillOpacity: 0.6},
    outside: {color: "#7b3294", weight: 2, fillOpacity: 0.6}
  };
  var pieces = {};
  var layer = L.geoJSON(data, {
    style: function (f) { return styles[f.properties.role]; },
    onEachFeature: function (f, l) {
      var p = f.properties;
      l.bindTooltip(textEl(p.label || p.code));
      if (p.n) pieces[p.role + p.n] = l;
    }
  }).addTo(map);
  var bounds = layer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, {padding: [10, 10]});
  var marker = null;
  document.querySelectorAll(".js-show").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var ll = [parseFloat(btn.dataset.lat), parseFloat(btn.dataset.lng)];
      if (marker) marker.remove();
      marker = L.circleMarker(ll, {radius: 8, color: "#000", weight: 2, fillOpacity: 0}).addTo(map);
      var piece = pieces[btn.dataset.role + btn.dataset.n];
      if (piece) map.fitBounds(piece.getBounds(), {padding: [40, 40], maxZoom: 19});
      else map.setView(ll, Math.max(map.getZoom(), 17));
      el.scrollIntoView({behavior: "smooth", block: "center"});
    });
  });
})();
