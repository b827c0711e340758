/* Field report: GPS (or a tap on the map), category, description, photos, voice note, optional
 * on-the-spot self-close; the report goes to the outbox and is sent now or when the network is back. */
(function () {
  "use strict";
  CG.loadData();
  var T = CG.T;
  var $ = function (id) { return document.getElementById(id); };
  var form = $("report-form");
  var grids = JSON.parse($("grids-geojson").textContent || "null");
  var settings = JSON.parse($("map-settings").textContent || "{}");
  var selfClosable = JSON.parse($("self-closable").textContent || "[]");
  var photoRequired = JSON.parse($("photo-required").textContent || "[]");
  CG.initPickers(form);

  // --- map and position ---------------------------------------------------------------------
  var map = L.map("map", { zoomControl: false, attributionControl: !!settings.tiles });
  if (settings.tiles) L.tileLayer(settings.tiles, { attribution: settings.attribution, maxZoom: 19 }).addTo(map);
  var layer = CG.drawGrids(map, grids);
  if (layer) map.fitBounds(layer.getBounds(), { padding: [8, 8] }); else map.setView([39.9, 116.4], 13);
  var marker = null, circle = null;

  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function inPolygon(x, y, poly) {
    if (!inRing(x, y, poly[0])) return false;
    for (var k = 1; k < poly.length; k++) if (inRing(x, y, poly[k])) return false;
    return true;
  }
  // Which of my grids contains the point (works offline: the outlines are in the page).
  function myGrid(lat, lng) {
    if (!grids) return null;
    for (var i = 0; i < grids.features.length; i++) {
      var f = grids.features[i], g = f.geometry;
      var polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
      for (var k = 0; k < polys.length; k++) if (inPolygon(lng, lat, polys[k])) return f.properties;
    }
    return null;
  }

  function setPoint(lat, lng, crs, acc, how) {
    $("lat").value = lat.toFixed(7); $("lng").value = lng.toFixed(7); $("crs").value = crs;
    var ll = [lat, lng];
    if (!marker) {
      marker = L.marker(ll, { draggable: true, icon: L.divIcon({ className: "cg-pin me", iconSize: [16, 16] }) }).addTo(map);
      marker.on("dragend", function () { var p = marker.getLatLng(); setPoint(p.lat, p.lng, "wgs84", null, "map"); });
    } else marker.setLatLng(ll);
    if (circle) { map.removeLayer(circle); circle = null; }
    if (acc) circle = L.circle(ll, { radius: acc, color: "#1668dc", weight: 1, fillOpacity: 0.08 }).addTo(map);
    map.setView(ll, Math.max(map.getZoom(), 16));
    var g = crs === "wgs84" ? myGrid(lat, lng) : null;
    $("loc-title").textContent = how === "map" ? T.picked : T.located + (acc ? " ±" + Math.round(acc) + "m" : "");
    $("loc-sub").textContent = (g ? g.name : (crs === "wgs84" ? T.outside : "")) + " · " + lat.toFixed(5) + ", " + lng.toFixed(5);
    updateSelf();
  }
  function locate() {
    $("loc-title").textContent = T.locating;
    CG.locate().then(function (p) { setPoint(p.lat, p.lng, p.crs, p.acc, "gps"); },
      function () { $("loc-title").textContent = T.noGeo; $("loc-sub").textContent = ""; });
  }
  map.on("click", function (e) { setPoint(e.latlng.lat, e.latlng.lng, "wgs84", null, "map"); });
  $("relocate").addEventListener("click", locate);
  locate();

  // --- category and self-close --------------------------------------------------------------
  function updateSelf() {
    var code = $("category").value;
    var allowed = selfClosable.indexOf(code) >= 0;
    $("self-close").disabled = !allowed;
    if (!allowed) $("self-close").checked = false;
    $("self-fields").classList.toggle("hidden", !$("self-close").checked);
    $("photo-hint").classList.toggle("hidden", photoRequired.indexOf(code) < 0);
  }
  $("category").addEventListener("change", updateSelf);
  $("self-close").addEventListener("change", updateSelf);

  // --- voice note ---------------------------------------------------------------------------
  var audioBlob = null, rec = null, chunks = [];
  var recBtn = $("rec"), preview = $("rec-preview"), del = $("rec-del"), fileLbl = $("rec-file");
  function setAudio(blob) {
    audioBlob = blob;
    preview.classList.toggle("hidden", !blob);
    del.classList.toggle("hidden", !blob);
    if (blob) preview.src = URL.createObjectURL(blob);
  }
  // The server keeps only audio whose metadata it can remove (m4a, ogg, mp3, wav, amr), so
  // record in one of those; a browser that can record only WebM offers the file picker instead.
  var recType = window.MediaRecorder && MediaRecorder.isTypeSupported ? ["audio/mp4", "audio/ogg;codecs=opus", "audio/ogg"]
    .filter(function (t) { return MediaRecorder.isTypeSupported(t); })[0] : null;
  if (recType && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    recBtn.addEventListener("click", function () {
      if (rec && rec.state === "recording") { rec.stop(); return; }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        chunks = [];
        rec = new MediaRecorder(stream, { mimeType: recType });
        rec.ondataavailable = function (e) { if (e.data.size) chunks.push(e.data); };
        rec.onstop = function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          setAudio(new Blob(chunks, { type: rec.mimeType || recType }));
          recBtn.querySelector("span").textContent = T.record;
          recBtn.classList.remove("danger");
        };
        rec.start();
        recBtn.querySelector("span").textContent = T.recording;
        recBtn.classList.add("danger");
      }).catch(function () { recBtn.classList.add("hidden"); fileLbl.classList.remove("hidden"); });
    });
  } else {
    recBtn.classList.add("hidden"); fileLbl.classList.remove("hidden");
  }
  fileLbl.querySelector("input").addEventListener("change", function (e) { if (e.target.files[0]) setAudio(e.target.files[0]); });
  del.addEventListener("click", function () { setAudio(null); });

  // --- submit -------------------------------------------------------------------------------
  function reset() {
    form.reset();
    form.querySelectorAll("[data-picker]").forEach(function (b) { b._files = []; b._render(); });
    setAudio(null);
    updateSelf();
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var code = $("category").value, desc = $("description").value.trim();
    var photos = form.querySelector("[data-picker=photos]"), after = form.querySelector("[data-picker=result_photos]");
    var self = $("self-close").checked;
    if (!$("lat").value) return CG.toast(T.needLoc);
    if (!code) return CG.toast(T.needCat);
    if (!desc) return CG.toast(T.needDesc);
    if (photoRequired.indexOf(code) >= 0 && !photos._files.length) return CG.toast(T.needPhoto);
    if (self && (!$("result").value.trim() || !after._files.length)) return CG.toast(T.needResult);
    var btn = $("submit"); btn.disabled = true;
    var id = CG.uuid();
    var catName = $("category").selectedOptions[0].textContent;
    var item = {
      id: id, kind: "report", url: "/api/field/reports", label: T.report + " · " + catName, summary: desc.slice(0, 60),
      fields: {
        client_id: id, category: code, description: desc, lat: $("lat").value, lng: $("lng").value, crs: $("crs").value,
        address: $("address").value.trim(), self_close: self ? "1" : "", result: self ? $("result").value.trim() : ""
      }
    };
    Promise.all([CG.pickedFiles(photos, "photos"), self ? CG.pickedFiles(after, "result_photos") : Promise.resolve([])])
      .then(function (r) {
        item.files = r[0].concat(r[1]);
        if (audioBlob) item.files.push({ name: "audio", blob: audioBlob, filename: "voice" + (/mp4|m4a/.test(audioBlob.type) ? ".m4a" : /ogg/.test(audioBlob.type) ? ".ogg" : ".webm") });
        return CG.submit(item);
      })
      .then(function (r) {
        btn.disabled = false;
        if (r.state === "failed") { CG.toast(r.error || T.failed, 4000); return; }
        reset();
        var banner = $("saved-banner");
        banner.classList.remove("hidden");
        banner.classList.toggle("warn", r.state !== "sent");
        banner.classList.toggle("ok", r.state === "sent");
        if (r.state === "sent") {
          var d = r.data || {};
          $("saved-text").textContent = T.reported + " · " + (d.tracking_code || "") + (d.self_close_error ? " · " + T.selfWarn + " " + d.self_close_error.message : "");
          CG.toast(T.reported + " ✓");
        } else {
          $("saved-text").textContent = T.savedOffline;
          CG.toast(T.savedOffline, 3000);
        }
        window.scrollTo(0, 0);
        locate();
      });
  });
})();
