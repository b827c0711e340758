/* Patrol screen (巡查轨迹一屏展示还原): every worker's last position, today's simplified tracks,
 * and the replay of one worker's day with a time slider. Data: /api/field/screen (compact rows,
 * encoded polylines) and /api/field/screen/workers/<id>/day. Without a tile server the base layer
 * is the territory itself (area and grid boundaries), as on the console map. */
(function () {
  "use strict";
  if (typeof L === "undefined") return;
  var $ = function (id) { return document.getElementById(id); };
  var conf = JSON.parse($("ps-config").textContent);
  var T = conf.i18n || {};
  var COLORS = { patrol: "#1f8f4e", stale: "#d48806", off: "#a0a8b6" };
  // Row fields of /api/field/screen "workers".
  var ID = 0, NAME = 1, GRID = 2, STATUS = 3, LAT = 4, LNG = 5, AT = 6, KM = 7, CHECKINS = 8;

  function textEl(s, tag, cls) {
    var e = document.createElement(tag || "span");
    if (cls) e.className = cls;
    e.textContent = s === null || s === undefined ? "" : String(s);
    return e;
  }
  function fmt(s, vars) { return String(s).replace(/%\((\w+)\)s/g, function (_m, k) { return vars[k]; }); }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(ms) { var d = new Date(ms); return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds()); }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    });
  }

  /* Encoded polyline (1e-5), as civicgrid.field.overview writes it. */
  function decode(str) {
    var out = [], i = 0, lat = 0, lng = 0;
    while (i < str.length) {
      var v = [0, 0];
      for (var k = 0; k < 2; k++) {
        var shift = 0, result = 0, b;
        do { b = str.charCodeAt(i++) - 63; result |= (b & 0x1f) << shift; shift += 5; } while (b >= 0x20);
        v[k] = result & 1 ? ~(result >> 1) : result >> 1;
      }
      lat += v[0]; lng += v[1];
      out.push([lat / 1e5, lng / 1e5]);
    }
    return out;
  }

  var el = $("ps-map");
  var map = L.map(el, { zoomControl: true, maxZoom: 19, minZoom: 5, preferCanvas: true, attributionControl: !!conf.tile_url });
  if (conf.tile_url) L.tileLayer(conf.tile_url, { attribution: conf.tile_attribution || "", maxZoom: 19 }).addTo(map);
  else el.classList.add("map-vector");
  L.control.scale({ imperial: false }).addTo(map);
  el.civicgridMap = map;
  // Keep what matters clear of the worker panel (left) and the replay bar (bottom).
  function pad(extraBottom) {
    var wide = window.innerWidth > 900;
    return { paddingTopLeft: [wide ? 370 : 20, 30], paddingBottomRight: [30, 30 + (extraBottom || 0)], maxZoom: 17 };
  }
  if (conf.bounds) map.fitBounds([[conf.bounds[1], conf.bounds[0]], [conf.bounds[3], conf.bounds[2]]], pad(0));
  else map.setView([39.5, 116.4], 10);

  /* Boundaries by extent: streets/communities when zoomed out, grids when zoomed in. */
  var boundaries = L.layerGroup().addTo(map), lastUrl = "";
  function loadBoundaries() {
    var b = map.getBounds(), z = map.getZoom();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(4); }).join(",");
    var grids = z >= 14;
    var url = grids ? conf.grids + "?bbox=" + bbox + "&simplify=3&limit=1500" : conf.areas + "?level=" + (z >= 12 ? 4 : 3) + "&bbox=" + bbox + "&limit=500";
    if (url === lastUrl) return;
    lastUrl = url;
    getJSON(url).then(function (fc) {
      boundaries.clearLayers();
      L.geoJSON(fc, {
        style: grids ? { color: "#7f97bd", weight: 1, fillColor: "#f4f7fb", fillOpacity: 0.6 } : { color: "#5d7aa8", weight: 1.2, fillColor: "#e4ebf5", fillOpacity: 0.45, dashArray: "4 3" },
        interactive: true,
        onEachFeature: function (f, layer) { layer.bindTooltip(textEl(f.properties.name), { sticky: true }); }
      }).addTo(boundaries);
      boundaries.eachLayer(function (l) { if (l.bringToBack) l.bringToBack(); });
    }).catch(function () { lastUrl = ""; });
  }
  map.on("moveend", loadBoundaries);
  loadBoundaries();

  var trackLayer = L.layerGroup().addTo(map);
  var markerLayer = L.layerGroup().addTo(map);
  var replayLayer = L.layerGroup().addTo(map);
  var workers = [], markers = {}, lines = {}, gridNames = {};

  function meta(w) {
    var parts = [gridNames[w[GRID]] || w[GRID]];
    parts.push(w[KM] + " " + T.km);
    parts.push(w[CHECKINS] + " " + T.checkins);
    parts.push(w[AT] ? T.lastFix + " " + clock(w[AT]) : T.noFix);
    return parts.join(" · ");
  }

  function renderList() {
    var q = ($("ps-filter").value || "").trim().toLowerCase();
    var activeOnly = $("ps-active-only").checked;
    var list = $("ps-workers");
    list.textContent = "";
    var shown = 0, frag = document.createDocumentFragment();
    workers.forEach(function (w) {
      if (activeOnly && w[STATUS] === "off") return;
      if (q && String(w[NAME]).toLowerCase().indexOf(q) < 0 && String(w[GRID]).indexOf(q) < 0 && String(gridNames[w[GRID]] || "").indexOf(q) < 0) return;
      shown++;
      if (shown > 400) return; // the map shows all; the list the first 400 that match
      var li = document.createElement("li");
      li.dataset.worker = w[ID];
      var dot = textEl("", "span", "dot ps-dot-" + w[STATUS]);
      dot.title = T[w[STATUS]] || w[STATUS];
      li.appendChild(dot);
      li.appendChild(textEl(w[NAME], "span", "n"));
      var btn = textEl(T.replay, "button", "btn btn-sm");
      btn.type = "button";
      btn.dataset.replay = w[ID];
      li.appendChild(btn);
      li.appendChild(textEl((T[w[STATUS]] || "") + " · " + meta(w), "span", "m"));
      frag.appendChild(li);
    });
    list.appendChild(frag);
    $("ps-count").textContent = fmt(T.shown, { n: shown, total: workers.length });
  }

  function popup(w) {
    var box = document.createElement("div");
    box.appendChild(textEl(w[NAME], "strong"));
    box.appendChild(document.createElement("br"));
    box.appendChild(textEl((T[w[STATUS]] || "") + " · " + meta(w), "span", "small"));
    box.appendChild(document.createElement("br"));
    var btn = textEl(T.replay, "button", "btn btn-sm");
    btn.type = "button";
    btn.dataset.replay = w[ID];
    box.appendChild(btn);
    return box;
  }

  function load() {
    $("ps-count").textContent = T.loading;
    var url = conf.data + "?area=" + encodeURIComponent(conf.area) + "&date=" + encodeURIComponent(conf.date);
    getJSON(url).then(function (data) {
      workers = data.workers;
      gridNames = data.grids || {};
      Object.keys(data.totals).forEach(function (k) {
        var dd = document.querySelector('[data-total="' + k + '"]');
        if (dd) dd.textContent = data.totals[k];
      });
      trackLayer.clearLayers();
      markerLayer.clearLayers();
      markers = {}; lines = {};
      var renderer = L.canvas({ padding: 0.3 });
      data.tracks.forEach(function (t) {
        var line = L.polyline(decode(t[2]), { color: "#3b73d9", weight: 2, opacity: 0.55, renderer: renderer, interactive: false });
        line.addTo(trackLayer);
        (lines[t[0]] = lines[t[0]] || []).push(line);
      });
      workers.forEach(function (w) {
        if (w[LAT] === null) return;
        var m = L.circleMarker([w[LAT], w[LNG]], { radius: w[STATUS] === "off" ? 4 : 6, color: "#fff", weight: 1.5, fillColor: COLORS[w[STATUS]], fillOpacity: 1, renderer: renderer });
        m.bindTooltip(textEl(w[NAME]), { direction: "top" });
        m.bindPopup(function () { return popup(w); });
        m.addTo(markerLayer);
        markers[w[ID]] = m;
      });
      renderList();
    }).catch(function () { $("ps-count").textContent = T.failed; });
  }

  /* --- replay of one worker's day ------------------------------------------------------- */
  var pts = [], dot = null, timer = null, current = null;
  function stop() { if (timer) { clearInterval(timer); timer = null; } $("ps-play").textContent = T.play; }
  function show(i) {
    var p = pts[i];
    if (!p || !dot) return;
    dot.setLatLng([p[1], p[2]]);
    $("ps-clock").textContent = clock(p[0]);
    $("ps-slider").value = i;
  }
  function replay(id) {
    stop();
    var w = workers.filter(function (x) { return String(x[ID]) === String(id); })[0];
    current = id;
    $("ps-replay").hidden = false;
    $("ps-replay-name").textContent = w ? w[NAME] : "";
    $("ps-replay-meta").textContent = T.loading;
    $("ps-checkins").textContent = "";
    replayLayer.clearLayers();
    trackLayer.eachLayer(function (l) { l.setStyle({ opacity: 0.18 }); });
    document.querySelectorAll(".ps-workers li").forEach(function (li) { li.classList.toggle("on", li.dataset.worker === String(id)); });
    getJSON(conf.day.replace(/\/0\/day$/, "/" + id + "/day") + "?date=" + encodeURIComponent(conf.date)).then(function (data) {
      if (current !== id) return;
      pts = data.points;
      var km = data.patrols.reduce(function (s, p) { return s + p.km; }, 0);
      $("ps-replay-meta").textContent = data.date + " · " + km.toFixed(2) + " " + T.km + " · " + fmt(T.points, { n: pts.length }) + " · " + data.checkins.length + " " + T.checkins;
      data.checkins.forEach(function (c) {
        var pin = L.marker([c[1], c[2]], { icon: L.divIcon({ className: "ps-pin" + (c[4] ? "" : " far"), iconSize: [14, 14] }) });
        pin.bindTooltip(textEl(clock(c[0]) + " " + c[3] + (c[4] ? "" : " (" + T.tooFar + ")")));
        pin.addTo(replayLayer);
        var li = textEl(clock(c[0]) + " " + T.checkin + " " + c[3] + " · " + c[5] + " m", "li", c[4] ? "" : "far");
        $("ps-checkins").appendChild(li);
      });
      if (!pts.length) {
        $("ps-slider").max = 0;
        $("ps-clock").textContent = "--:--:--";
        $("ps-replay-meta").textContent = data.date + " · " + T.noPoints;
        return;
      }
      // One line per patrol, so that a stop between two patrols is not drawn as a walk.
      var byPatrol = {};
      pts.forEach(function (p) { (byPatrol[p[3]] = byPatrol[p[3]] || []).push([p[1], p[2]]); });
      var bounds = null;
      Object.keys(byPatrol).forEach(function (k) {
        var line = L.polyline(byPatrol[k], { color: "#00a870", weight: 4, opacity: 0.9 }).addTo(replayLayer);
        bounds = bounds ? bounds.extend(line.getBounds()) : line.getBounds();
      });
      L.circleMarker([pts[0][1], pts[0][2]], { radius: 5, color: "#fff", weight: 2, fillColor: "#1f8f4e", fillOpacity: 1 }).addTo(replayLayer);
      dot = L.circleMarker([pts[0][1], pts[0][2]], { radius: 8, color: "#fff", weight: 3, fillColor: "#1668dc", fillOpacity: 1 }).addTo(replayLayer);
      map.fitBounds(bounds, pad(130));
      $("ps-slider").max = pts.length - 1;
      show(0);
    }).catch(function () { $("ps-replay-meta").textContent = T.failed; });
  }
  function closeReplay() {
    stop();
    current = null; pts = []; dot = null;
    replayLayer.clearLayers();
    trackLayer.eachLayer(function (l) { l.setStyle({ opacity: 0.55 }); });
    $("ps-replay").hidden = true;
    document.querySelectorAll(".ps-workers li.on").forEach(function (li) { li.classList.remove("on"); });
  }
  $("ps-slider").addEventListener("input", function (e) { stop(); show(parseInt(e.target.value, 10)); });
  $("ps-play").addEventListener("click", function () {
    if (timer) { stop(); return; }
    if (!pts.length) return;
    var s = $("ps-slider");
    if (parseInt(s.value, 10) >= pts.length - 1) s.value = 0;
    $("ps-play").textContent = T.pause;
    timer = setInterval(function () {
      var step = Math.max(1, Math.round(pts.length / 400)) * parseInt($("ps-speed").value, 10);
      var v = Math.min(pts.length - 1, parseInt(s.value, 10) + step);
      show(v);
      if (v >= pts.length - 1) stop();
    }, 50);
  });
  $("ps-replay-close").addEventListener("click", closeReplay);
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("[data-replay]") : null;
    if (b) { e.preventDefault(); replay(b.dataset.replay); return; }
    var li = e.target.closest ? e.target.closest(".ps-workers li") : null;
    if (li) {
      var m = markers[li.dataset.worker];
      if (m) { map.setView(m.getLatLng(), Math.max(map.getZoom(), 15)); m.openPopup(); }
    }
  });
  $("ps-filter").addEventListener("input", renderList);
  $("ps-active-only").addEventListener("change", renderList);
  load();
  // Positions move: refresh the overview every minute while nothing is being replayed.
  setInterval(function () { if (!current && !document.hidden) load(); }, 60000);
})();
