/* Patrol replay: the whole track, start and end, check-in places, and a moving dot over time. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var conf = JSON.parse($("replay-conf").textContent);
  var grids = JSON.parse($("grids-geojson").textContent || "null");
  var settings = JSON.parse($("map-settings").textContent || "{}");
  var map = L.map("map", { zoomControl: true, attributionControl: !!settings.tiles });
  if (settings.tiles) L.tileLayer(settings.tiles, { attribution: settings.attribution, maxZoom: 19 }).addTo(map);
  CG.drawGrids(map, grids);
  map.setView([39.9, 116.4], 13);
  conf.checkins.forEach(function (c) {
    L.marker([c.lat, c.lng], { icon: L.divIcon({ className: "cg-pin place", iconSize: [16, 16] }) }).bindTooltip(CG.text(c.name)).addTo(map);
  });
  var pts = [], dot = null, playing = null;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function show(i) {
    var p = pts[i];
    if (!p) return;
    dot.setLatLng([p[1], p[2]]);
    var d = new Date(p[0]);
    $("clock").textContent = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  fetch(conf.track, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
    pts = data.points;
    if (!pts.length) return;
    var ll = pts.map(function (p) { return [p[1], p[2]]; });
    var line = L.polyline(ll, { color: "#00a870", weight: 5, opacity: 0.9 }).addTo(map);
    L.marker(ll[0], { icon: L.divIcon({ className: "cg-pin start", iconSize: [16, 16] }) }).addTo(map);
    L.marker(ll[ll.length - 1], { icon: L.divIcon({ className: "cg-pin end", iconSize: [16, 16] }) }).addTo(map);
    dot = L.circleMarker(ll[0], { radius: 8, color: "#fff", weight: 3, fillColor: "#1668dc", fillOpacity: 1 }).addTo(map);
    map.fitBounds(line.getBounds(), { padding: [24, 24] });
    $("slider").max = pts.length - 1;
    show(0);
  });
  $("slider").addEventListener("input", function (e) { show(parseInt(e.target.value, 10)); });
  $("play").addEventListener("click", function () {
    if (playing) { clearInterval(playing); playing = null; return; }
    var s = $("slider");
    if (parseInt(s.value, 10) >= pts.length - 1) s.value = 0;
    var step = Math.max(1, Math.round(pts.length / 300));
    playing = setInterval(function () {
      var v = Math.min(pts.length - 1, parseInt(s.value, 10) + step);
      s.value = v; show(v);
      if (v >= pts.length - 1) { clearInterval(playing); playing = null; }
    }, 40);
  });
})();
