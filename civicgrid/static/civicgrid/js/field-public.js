/* Citizen report form: map click or geolocation for the position, photo previews, checks. */
(function () {
  "use strict";
  var T = JSON.parse((document.getElementById("report-i18n") || {}).textContent || "{}");
  var form = document.getElementById("report-form");
  if (!form) return;
  var $ = function (id) { return document.getElementById(id); };
  var settings = JSON.parse($("map-settings").textContent || "{}");
  var gridShape = JSON.parse($("grid-geojson").textContent || "null");
  var home = JSON.parse(($("home-bounds") || {}).textContent || "null");

  // Area names are data: Leaflet gets a text node, never an HTML string.
  function textEl(s) {
    var e = document.createElement("span");
    e.textContent = s == null ? "" : String(s);
    return e;
  }

  function toast(msg) {
    var t = $("toast");
    t.textContent = msg; t.classList.add("show");
    clearTimeout(t._h); t._h = setTimeout(function () { t.classList.remove("show"); }, 2200);
  }

  // --- map ----------------------------------------------------------------------------------
  var map = L.map("map", { zoomControl: true, attributionControl: !!settings.tiles });
  if (settings.tiles) L.tileLayer(settings.tiles, { attribution: settings.attribution, maxZoom: 19 }).addTo(map);
  var outlines = L.layerGroup().addTo(map);
  var pin = null;
  if (gridShape) {
    var g = L.geoJSON(gridShape, { style: { color: "#1668dc", weight: 2, fillOpacity: 0.08 } }).addTo(map);
    map.fitBounds(g.getBounds(), { padding: [10, 10] });
  } else if (home) {
    map.fitBounds([[home[1], home[0]], [home[3], home[2]]]);
  } else {
    map.setView([39.9, 116.4], 12);
  }
  var loaded = {};
  function loadOutlines() {
    var b = map.getBounds();
    if (b.getEast() - b.getWest() > 0.2 || b.getNorth() - b.getSouth() > 0.2) return;
    var box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
    fetch("/api/public/grids?bbox=" + box).then(function (r) { return r.ok ? r.json() : null; }).then(function (fc) {
      if (!fc) return;
      fc.features.forEach(function (f) {
        if (loaded[f.properties.code]) return;
        loaded[f.properties.code] = true;
        L.geoJSON(f, { style: { color: "#5b8def", weight: 1, fillOpacity: 0.03, dashArray: "4 3" }, interactive: false }).addTo(outlines);
      });
    }).catch(function () {});
  }
  map.on("moveend", loadOutlines);
  loadOutlines();
  // Streets and townships as the base map when there are no tiles and the view is wide.
  fetch("/api/public/areas?level=3").then(function (r) { return r.ok ? r.json() : null; }).then(function (fc) {
    if (!fc) return;
    L.geoJSON(fc, {
      interactive: false,
      style: { color: "#6b8fc7", weight: 1.2, fillColor: "#ffffff", fillOpacity: 0.55 },
      onEachFeature: function (f, l) {
        l.bindTooltip(textEl(f.properties.name), { permanent: true, direction: "center", className: "area-label" });
      }
    }).addTo(map).bringToBack();
  }).catch(function () {});

  function setPoint(lat, lng, crs, label) {
    $("lat").value = lat.toFixed(7); $("lng").value = lng.toFixed(7); $("crs").value = crs || "wgs84";
    var ll = [lat, lng];
    if (!pin) pin = L.marker(ll, { icon: L.divIcon({ className: "cg-pin", iconSize: [16, 16] }) }).addTo(map);
    else pin.setLatLng(ll);
    $("loc-title").textContent = T.picked || "OK";
    $("loc-sub").textContent = (label ? label + " · " : "") + lat.toFixed(5) + ", " + lng.toFixed(5);
    fetch("/api/public/locate?lat=" + lat + "&lng=" + lng + "&crs=" + (crs || "wgs84"))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (res) {
        if (!res) return;
        $("loc-title").textContent = res.found ? (res.area_name + " · " + res.grid_name) : (T.outside || "");
      }).catch(function () {});
  }
  map.on("click", function (e) { setPoint(e.latlng.lat, e.latlng.lng, "wgs84"); });
  if ($("lat").value && $("lng").value) setPoint(parseFloat($("lat").value), parseFloat($("lng").value), $("crs").value);

  $("locate-me").addEventListener("click", function () {
    if (!navigator.geolocation) { toast(T.noGeo); return; }
    $("loc-sub").textContent = T.locating || "…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      // The W3C Geolocation API reports WGS-84.
      setPoint(pos.coords.latitude, pos.coords.longitude, "wgs84", "±" + Math.round(pos.coords.accuracy) + "m");
      map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 16));
    }, function () { toast(T.noGeo); $("loc-sub").textContent = T.noGeo; }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  });

  // --- photos -------------------------------------------------------------------------------
  var input = $("photo-input"), box = $("photos"), files = [];
  function render() {
    box.querySelectorAll(".ph").forEach(function (n) { n.remove(); });
    files.forEach(function (f, i) {
      var d = document.createElement("div"); d.className = "ph";
      var img = document.createElement("img"); img.src = URL.createObjectURL(f); d.appendChild(img);
      var x = document.createElement("button"); x.type = "button"; x.className = "x"; x.textContent = "×";
      x.addEventListener("click", function () { files.splice(i, 1); sync(); });
      d.appendChild(x);
      box.insertBefore(d, box.querySelector(".add"));
    });
  }
  function sync() {
    try {
      var dt = new DataTransfer();
      files.forEach(function (f) { dt.items.add(f); });
      input.files = dt.files;
    } catch (e) { /* old browsers: the last pick is sent */ }
    render();
  }
  input.addEventListener("change", function () {
    Array.prototype.forEach.call(input.files, function (f) { if (files.indexOf(f) < 0) files.push(f); });
    if (files.length > 6) { files = files.slice(0, 6); toast(T.tooMany); }
    sync();
  });

  // --- submit -------------------------------------------------------------------------------
  form.addEventListener("submit", function (e) {
    var msg = null;
    if (!$("category").value) msg = T.needCat;
    else if (!$("description").value.trim()) msg = T.needDesc;
    else if (!$("lat").value && !form.querySelector("input[name=grid]")) msg = T.needLoc;
    if (msg) { e.preventDefault(); toast(msg); return; }
    var b = $("submit"); b.disabled = true; b.textContent = T.sending || "…";
  });
})();
