/* Patrol: start/stop, positions from watchPosition kept on the phone and sent in batches. */
(function () {
  "use strict";
  CG.loadData();
  var T = CG.T;
  var $ = function (id) { return document.getElementById(id); };
  var grids = JSON.parse($("grids-geojson").textContent || "null");
  var settings = JSON.parse($("map-settings").textContent || "{}");
  var btn = $("patrol-btn");

  var map = L.map("map", { zoomControl: false, attributionControl: !!settings.tiles });
  if (settings.tiles) L.tileLayer(settings.tiles, { attribution: settings.attribution, maxZoom: 19 }).addTo(map);
  var gl = CG.drawGrids(map, grids);
  if (gl) map.fitBounds(gl.getBounds(), { padding: [10, 10] }); else map.setView([39.9, 116.4], 13);
  var line = L.polyline([], { color: "#00a870", weight: 5, opacity: 0.9 }).addTo(map);
  var me = null;

  var state = null; // {uuid, started, count, dist, last: {lat, lng, t}}
  var watch = null, timer = null, lock = null;
  var MIN_GAP = 5000, MAX_GAP = 30000, MIN_MOVE = 25;

  function hav(a, b) {
    var R = 6371008.8, r = Math.PI / 180;
    var dl = (b.lat - a.lat) * r, dn = (b.lng - a.lng) * r;
    var h = Math.sin(dl / 2) * Math.sin(dl / 2) + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(dn / 2) * Math.sin(dn / 2);
    return 2 * R * Math.asin(Math.sqrt(h));
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    if (!state) return;
    var s = Math.floor((Date.now() - state.started) / 1000);
    $("m-time").textContent = pad(Math.floor(s / 3600)) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
    $("m-dist").textContent = (state.dist / 1000).toFixed(2);
    $("m-pts").textContent = state.count;
  }
  function render() {
    if (!btn) return;
    var on = !!state;
    btn.classList.toggle("stop", on);
    btn.innerHTML = on ? '<span class="pulse"></span><span>' + T.stop + "</span>" : "<span>▶</span><span>" + T.start + "</span>";
  }

  function onPos(pos) {
    var p = { lat: pos.coords.latitude, lng: pos.coords.longitude, acc: Math.round(pos.coords.accuracy || 0), t: pos.timestamp || Date.now(), crs: CG.crs() };
    $("gps-state").textContent = T.gpsOk + " ±" + p.acc + "m";
    if (!me) me = L.marker([p.lat, p.lng], { icon: L.divIcon({ className: "cg-pin me", iconSize: [16, 16] }) }).addTo(map);
    else me.setLatLng([p.lat, p.lng]);
    // Keep the worker in view: follow once they leave the middle of the map.
    if (state && !map.getBounds().pad(-0.25).contains([p.lat, p.lng])) map.panTo([p.lat, p.lng]);
    if (!state || p.acc > 500) return;
    var last = state.last, dt = last ? p.t - last.t : Infinity, d = last ? hav(last, p) : 0;
    if (last && dt < MAX_GAP && (dt < MIN_GAP || d < MIN_MOVE)) return;
    if (last && d / Math.max(dt / 1000, 1) > 50) return; // a GPS jump; the server would refuse it too
    state.dist += d; state.count += 1; state.last = p;
    line.addLatLng([p.lat, p.lng]);
    if (state.count === 1) map.setView([p.lat, p.lng], 17);
    CG.points.add(state.uuid, [p]);
    CG.kv.set("patrol", state);
    if (state.count % 10 === 0) CG.sync();
    tick();
  }
  function startWatch() {
    if (!navigator.geolocation) { $("gps-state").textContent = T.gpsBad; return; }
    $("gps-state").textContent = T.gpsWait;
    watch = navigator.geolocation.watchPosition(onPos, function () { $("gps-state").textContent = T.gpsBad; },
      { enableHighAccuracy: true, maximumAge: 5000, timeout: 60000 });
    timer = setInterval(tick, 1000);
    if (navigator.wakeLock) navigator.wakeLock.request("screen").then(function (l) { lock = l; }).catch(function () {});
  }
  function stopWatch() {
    if (watch !== null) navigator.geolocation.clearWatch(watch);
    watch = null; clearInterval(timer);
    if (lock) { lock.release().catch(function () {}); lock = null; }
  }

  function start() {
    var uuid = CG.uuid(), now = Date.now();
    state = { uuid: uuid, started: now, count: 0, dist: 0, last: null };
    line.setLatLngs([]);
    CG.kv.set("patrol", state).then(function () {
      return CG.outbox.add({ id: CG.uuid(), kind: "patrol_start", label: T.patrol_start, url: "/api/field/patrols", json: { uuid: uuid, started_at: now } });
    });
    render(); startWatch(); tick();
    CG.toast(T.started);
  }
  function stop() {
    if (!confirm(T.confirmStop)) return;
    var s = state;
    stopWatch();
    state = null;
    CG.kv.set("patrol", null).then(function () {
      return CG.outbox.add({ id: CG.uuid(), kind: "patrol_stop", label: T.patrol_stop, url: "/api/field/patrols/" + s.uuid + "/stop", json: { ended_at: Date.now() } });
    }).then(function () { return CG.sync(); }).then(function () {
      CG.toast(T.ended);
      setTimeout(function () { location.href = CG.urls.replay.replace("UUID", s.uuid); }, 900);
    });
    render();
  }
  if (btn) btn.addEventListener("click", function () { state ? stop() : start(); });

  window.addEventListener("cg:points", function (e) {
    var p = e.detail && e.detail.patrol;
    if (p && state && p.uuid === state.uuid) $("gps-state").textContent = p.distance_km + " km " + T.uploaded;
  });

  // A patrol survives closing the page: pick it up again.
  CG.kv.get("patrol", null).then(function (s) {
    if (s && s.uuid) {
      state = s; render(); startWatch(); tick();
      if (s.last) line.setLatLngs([[s.last.lat, s.last.lng]]);
      if (navigator.onLine) fetch("/api/field/patrols/" + s.uuid + "/track", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (d && d.points.length) line.setLatLngs(d.points.map(function (p) { return [p[1], p[2]]; })); })
        .catch(function () {});
    } else {
      render();
      CG.locate({ timeout: 15000 }).then(function (p) {
        me = L.marker([p.lat, p.lng], { icon: L.divIcon({ className: "cg-pin me", iconSize: [16, 16] }) }).addTo(map);
      }).catch(function () {});
    }
  });
})();
