/* A grid's public board: the grid outline on a fixed map, refitted for printing. */
(function () {
  var shape = JSON.parse(document.getElementById("grid-geojson").textContent || "null");
  var s = JSON.parse(document.getElementById("map-settings").textContent || "{}");
  var map = L.map("board-map", { zoomControl: false, attributionControl: !!s.tiles, dragging: false, scrollWheelZoom: false, doubleClickZoom: false, touchZoom: false });
  if (s.tiles) L.tileLayer(s.tiles, { attribution: s.attribution }).addTo(map);
  if (shape) {
    var g = L.geoJSON(shape, { style: { color: "#c62828", weight: 3, fillColor: "#ef5350", fillOpacity: 0.12 } }).addTo(map);
    map.fitBounds(g.getBounds(), { padding: [12, 12] });
  } else { map.setView([39.9, 116.4], 12); }
  window.addEventListener("beforeprint", function () { map.invalidateSize(); if (shape) map.fitBounds(g.getBounds(), { padding: [12, 12] }); });
})();
