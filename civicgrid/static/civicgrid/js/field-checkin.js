(function () {
  "use strict";
  CG.loadData();
  var T = CG.T, $ = function (id) { return document.getElementById(id); };
  var places = JSON.parse($("places-data").textContent || "[]"), pos = null;
  function hav(a, b) {
    var R = 6371008.8, r = Math.PI / 180, dl = (b.lat - a.lat) * r, dn = (b.lng - a.lng) * r;
    var h = Math.sin(dl / 2) * Math.sin(dl / 2) + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(dn / 2) * Math.sin(dn / 2);
    return 2 * R * Math.asin(Math.sqrt(h));
  }
  function render() {
    var rows = places.map(function (p) { return { p: p, d: pos ? hav(pos, p) : null }; });
    if (pos) rows.sort(function (a, b) { return a.d - b.d; });
    $("places").innerHTML = rows.map(function (r) {
      var p = r.p, near = r.d !== null && r.d <= p.radius;
      return '<li class="m-item" data-id="' + p.id + '"><span class="lead ic ' + (near ? "c5" : "c2") + '"><svg class="i" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"><path d="M12 22s7-6.1 7-12a7 7 0 1 0-14 0c0 5.9 7 12 7 12z"/><circle cx="12" cy="10" r="2.5"/></svg></span>' +
        '<div class="body"><div class="t"><span class="tx">' + CG.esc(p.name) + '</span><span class="tag grey">' + CG.esc(p.kind) + "</span></div>" +
        '<div class="meta"><span>' + CG.esc(p.grid) + "</span>" + (r.d !== null ? "<span" + (near ? ' style="color:var(--ok)"' : "") + ">" + Math.round(r.d) + " " + T.away + (near ? " · " + T.within : "") + "</span>" : "") + "</div></div>" +
        '<button class="m-btn sm ' + (near ? "" : "ghost") + ' js-check" type="button">' + T.checkIn + "</button></li>";
    }).join("");
    document.querySelectorAll(".js-check").forEach(function (b) {
      b.addEventListener("click", function () { checkIn(places.find(function (p) { return p.id == b.closest("li").dataset.id; }), b); });
    });
  }
  function checkIn(place, b) {
    if (!pos) { CG.toast(T.noGeo); return; }
    if (hav(pos, place) > place.radius && !confirm(T.far)) return;
    b.disabled = true;
    var id = CG.uuid();
    CG.submit({ id: id, kind: "checkin", label: T.checkin + " · " + place.name, url: "/api/field/checkins",
      json: { client_id: id, place: place.id, lat: pos.lat, lng: pos.lng, crs: pos.crs, accuracy: pos.acc, checked_at: Date.now() } })
      .then(function (r) {
        b.textContent = T.done + " ✓";
        CG.toast(r.state === "sent" ? T.done + " · " + Math.round(r.data.distance_m) + " m" : (r.state === "failed" ? r.error : T.queued), 3000);
      });
  }
  function locate() {
    $("pos-title").textContent = T.locating;
    CG.locate().then(function (p) {
      pos = p; $("pos-title").textContent = T.located + " ±" + Math.round(p.acc) + "m";
      $("pos-sub").textContent = p.lat.toFixed(5) + ", " + p.lng.toFixed(5); render();
    }, function () { $("pos-title").textContent = T.noGeo; render(); });
  }
  $("relocate").addEventListener("click", locate);
  render(); locate();
})();
