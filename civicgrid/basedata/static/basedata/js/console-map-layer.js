/* The base-data layer of the console map: a control with one switch per record kind (houses,
 * tagged persons, places, risk points, organisations, things). Records of the visible part of
 * the map come from /basedata/map/points, scoped on the server (sensitive tags only for the roles
 * that serve them). ?bd=house,tag&bd_bbox=w,s,e,n (the grid profile's link) turns layers on and
 * frames the grid. */
(function () {
  "use strict";
  if (typeof L === "undefined") return;
  var cfgEl = document.getElementById("basedata-map-config");
  var el = document.getElementById("case-map-full");
  if (!cfgEl || !el) return;
  var cfg = JSON.parse(cfgEl.textContent), T = cfg.T;
  var params = new URLSearchParams(location.search);
  var on = {};
  (params.get("bd") || "").split(",").forEach(function (k) { if (k) on[k] = true; });
  var colors = {};
  cfg.layers.forEach(function (l) { colors[l[0]] = l[2]; });

  function text(s, tag, cls) {
    var e = document.createElement(tag || "span");
    if (cls) e.className = cls;
    e.textContent = s == null ? "" : String(s);
    return e;
  }
  function link(it) {
    return it[0] === "tag" ? cfg.person.replace(/0\/$/, it[1] + "/")
      : cfg.record.replace("ENTITY", it[0]).replace(/0\/$/, it[1] + "/");
  }
  function popup(it) {
    var box = text("", "div", "map-pop"), d = it[5] || {};
    var a = document.createElement("a"); a.href = link(it); a.appendChild(text(it[4], "strong")); box.appendChild(a);
    var sub = "";
    if (it[0] === "house") sub = d.use + " · " + d.residents + " " + T.residents;
    else if (it[0] === "tag") sub = d.tags + (d.overdue ? " · " + T.overdue : "");
    else if (it[0] === "riskpoint") sub = d.kind + " · " + T.level + " " + d.level;
    else sub = d.kind || "";
    box.appendChild(document.createElement("br"));
    box.appendChild(text(sub));
    return box;
  }

  function start(map) {
    var group = L.layerGroup().addTo(map), controller = null, timer = null;
    var status = text("", "div", "bd-map-status");
    var ctl = L.control({ position: "topright" });
    ctl.onAdd = function () {
      var box = L.DomUtil.create("div", "leaflet-bar bd-map-control");
      box.appendChild(text(T.title, "strong"));
      cfg.layers.forEach(function (l) {
        var lab = document.createElement("label");
        var cb = document.createElement("input"); cb.type = "checkbox"; cb.checked = !!on[l[0]]; cb.dataset.layer = l[0];
        cb.addEventListener("change", function () { on[l[0]] = cb.checked; load(); });
        var sw = text("", "i", "bd-sw"); sw.style.background = l[2];
        lab.appendChild(cb); lab.appendChild(sw); lab.appendChild(text(l[1]));
        box.appendChild(lab);
      });
      box.appendChild(status);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    ctl.addTo(map);
    function load() {
      var layers = Object.keys(on).filter(function (k) { return on[k]; });
      group.clearLayers();
      status.textContent = "";
      if (!layers.length) return;
      var b = map.getBounds();
      if ((b.getEast() - b.getWest()) * (b.getNorth() - b.getSouth()) > 4) { status.textContent = T.zoom; return; }
      if (controller) controller.abort();
      controller = new AbortController();
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
      fetch(cfg.points + "?layers=" + layers.join(",") + "&bbox=" + bbox, { credentials: "same-origin", signal: controller.signal })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          group.clearLayers();
          (body.items || []).forEach(function (it) {
            var d = it[5] || {};
            var m = L.circleMarker([it[2], it[3]], {
              radius: it[0] === "house" ? 4 : 6, weight: 1.5, color: "#fff",
              fillColor: it[0] === "tag" && d.overdue ? "#cf1322" : colors[it[0]], fillOpacity: 0.9, bdLayer: it[0]
            });
            m.bindPopup(function () { return popup(it); });
            group.addLayer(m);
          });
          status.textContent = (body.items || []).length + " " + T.shown + (body.truncated ? " · " + T.truncated : "");
        })
        .catch(function (e) { if (e.name !== "AbortError") status.textContent = String(e); });
    }
    map.on("moveend", function () { clearTimeout(timer); timer = setTimeout(load, 300); });
    var box = (params.get("bd_bbox") || "").split(",").map(parseFloat);
    if (box.length === 4 && box.every(isFinite)) map.fitBounds([[box[1], box[0]], [box[3], box[2]]]);
    load();
  }

  (function wait(n) {
    if (el.civicgridMap) start(el.civicgridMap);
    else if (n < 50) setTimeout(function () { wait(n + 1); }, 100);
  })(0);
})();
