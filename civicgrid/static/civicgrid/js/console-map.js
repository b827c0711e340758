/* civicgrid console maps (Leaflet). With no tile server the base layer is the territory itself:
 * area and grid boundaries drawn as vector layers. A tile URL is used when configured. */
(function () {
  "use strict";
  if (typeof L === "undefined") return;

  var C = window.civicgridConsole || { i18n: {}, fmt: function (s) { return s; } };
  var COLORS = { normal: "#1f8f4e", warning: "#d48806", overdue: "#cf1322", done: "#8a94a6" };
  var RANK = { done: 0, normal: 1, warning: 2, overdue: 3 };

  function readJSON(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function baseMap(el, cfg) {
    var map = L.map(el, { zoomControl: true, maxZoom: 19, minZoom: 5, attributionControl: !!(cfg && cfg.tile_url), preferCanvas: true });
    if (cfg && cfg.tile_url) {
      L.tileLayer(cfg.tile_url, { attribution: cfg.tile_attribution || "", maxZoom: 19 }).addTo(map);
    } else {
      el.classList.add("map-vector");
    }
    L.control.scale({ imperial: false }).addTo(map);
    el.civicgridMap = map; // for scripts and tests that need to turn a place into a pixel
    return map;
  }

  var STYLE = {
    area: { color: "#5d7aa8", weight: 1.5, fillColor: "#e4ebf5", fillOpacity: 0.55, dashArray: "4 3" },
    district: { color: "#2f4f7f", weight: 2.5, fill: false },
    grid: { color: "#7f97bd", weight: 1, fillColor: "#f4f7fb", fillOpacity: 0.7 },
    sibling: { color: "#8aa0c3", weight: 1, fillColor: "#eef3fa", fillOpacity: 0.6 },
    current: { color: "#1456b8", weight: 3, fillColor: "#1456b8", fillOpacity: 0.12 },
    micro: { color: "#1456b8", weight: 1, dashArray: "2 3", fill: false }
  };
  var KIND_FILL = { urban: "#f4f7fb", rural: "#f3f8ef", dedicated: "#fbf4ea" };

  function feature(geometry, props) { return { type: "Feature", geometry: geometry, properties: props || {} }; }

  function pinIcon(light) {
    return L.divIcon({
      className: "case-pin pin-" + (light || "normal"),
      html: "<span></span>", iconSize: [26, 26], iconAnchor: [13, 26]
    });
  }

  // Names come from data (areas, grids, categories): Leaflet would read a string as HTML, so
  // tooltips and popups get DOM nodes whose text is set with textContent.
  function textEl(s, tag, cls) {
    var e = document.createElement(tag || "span");
    if (cls) e.className = cls;
    e.textContent = s === null || s === undefined ? "" : String(s);
    return e;
  }

  function label(layer, text) {
    if (text) layer.bindTooltip(textEl(text), { sticky: true, direction: "top", className: "grid-tip" });
  }

  /* --- a case, or a grid: the polygon with its neighbours ---------------------------------- */
  function staticMap(el, data) {
    var map = baseMap(el, data);
    var bounds = null;
    if (data.area && data.area.geometry) {
      L.geoJSON(feature(data.area.geometry), { style: STYLE.area, interactive: false }).addTo(map);
    }
    (data.siblings || []).forEach(function (g) {
      if (!g.geometry) return;
      var layer = L.geoJSON(feature(g.geometry), { style: STYLE.sibling }).addTo(map);
      label(layer, g.name + " " + g.code);
    });
    if (data.grid && data.grid.geometry) {
      var cur = L.geoJSON(feature(data.grid.geometry), { style: STYLE.current }).addTo(map);
      label(cur, data.grid.name + " " + data.grid.code);
      bounds = cur.getBounds();
    }
    (data.micro || []).forEach(function (m) {
      if (!m.geometry) return;
      var layer = L.geoJSON(feature(m.geometry), { style: STYLE.micro }).addTo(map);
      label(layer, m.name + " " + m.code);
    });
    if (data.point) {
      L.marker(data.point, { icon: pinIcon(el.dataset.light), keyboard: false }).addTo(map);
      bounds = bounds ? bounds.extend(data.point) : L.latLngBounds([data.point, data.point]);
    }
    if (bounds) map.fitBounds(bounds.pad(0.35), { maxZoom: 17 });
    else map.setView([0, 0], 2);
  }

  /* --- boundaries loaded by extent (intake and the case map) --------------------------------- */
  function boundaryLayer(map, endpoints) {
    var group = L.layerGroup().addTo(map);
    var controller = null, lastKey = "";
    function load() {
      var b = map.getBounds(), z = map.getZoom();
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(4); }).join(",");
      var showGrids = z >= 14;
      var url = showGrids
        ? endpoints.grids + "?bbox=" + bbox + "&simplify=3&limit=1500"
        : endpoints.areas + "?level=" + (z >= 11 ? 3 : 2) + "&bbox=" + bbox + "&limit=500";
      if (url === lastKey) return;
      lastKey = url;
      if (controller) controller.abort();
      controller = new AbortController();
      fetch(url, { credentials: "same-origin", signal: controller.signal, headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { features: [] }; })
        .then(function (fc) {
          group.clearLayers();
          L.geoJSON(fc, {
            style: function (f) {
              if (!showGrids) return STYLE.area;
              var s = Object.assign({}, STYLE.grid);
              s.fillColor = KIND_FILL[f.properties.kind] || STYLE.grid.fillColor;
              return s;
            },
            onEachFeature: function (f, layer) {
              // Names on the map itself where they fit; a hover tip where they would clutter.
              if (!showGrids || z >= 16) {
                layer.bindTooltip(textEl(f.properties.name), { permanent: true, direction: "center", className: showGrids ? "grid-label" : "area-label" });
              } else {
                label(layer, f.properties.name + " " + f.properties.code);
              }
            }
          }).addTo(group);
          group.eachLayer(function (l) { if (l.bringToBack) l.bringToBack(); });
        })
        .catch(function (e) { if (e.name !== "AbortError") lastKey = ""; });
    }
    map.on("moveend", load);
    return { load: load, group: group };
  }

  function fitConfig(map, cfg) {
    if (cfg && cfg.bounds) {
      var b = cfg.bounds;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [10, 10] });
    } else {
      map.setView([39.5, 116.4], 10);
    }
  }

  /* --- hotline intake: click to place, locate at once ---------------------------------------- */
  function intakeMap(el) {
    var cfg = readJSON("intake-map-config") || {};
    var map = baseMap(el, cfg);
    var endpoints = { areas: "/api/territory/areas", grids: "/api/territory/grids" };
    var boundaries = boundaryLayer(map, endpoints);
    var marker = null;
    var lat = document.getElementById("intake-lat"), lng = document.getElementById("intake-lng"),
        crs = document.getElementById("intake-crs"), target = document.getElementById("locate-result");

    function place(latlng, pan) {
      if (!marker) marker = L.marker(latlng, { icon: pinIcon("normal"), draggable: true, keyboard: false }).addTo(map)
        .on("dragend", function () { pick(marker.getLatLng(), false); });
      else marker.setLatLng(latlng);
      if (pan) map.setView(latlng, Math.max(map.getZoom(), 16));
    }
    function locate() { if (target && window.htmx) htmx.trigger(target, "locate"); }
    function pick(latlng, pan) {
      lat.value = latlng.lat.toFixed(6);
      lng.value = latlng.lng.toFixed(6);
      crs.value = "wgs84";
      place(latlng, pan);
      locate();
    }
    map.on("click", function (e) { pick(e.latlng, false); });
    [lat, lng, crs].forEach(function (input) {
      input.addEventListener("change", function () { if (lat.value && lng.value) locate(); });
    });
    /* The server answers in WGS-84 whatever was typed: follow it with the marker. */
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.target !== target) return;
      var card = target.querySelector("[data-lat]");
      if (!card) return;
      var at = L.latLng(parseFloat(card.dataset.lat), parseFloat(card.dataset.lng));
      place(at, !map.getBounds().contains(at));
    });
    document.addEventListener("click", function (e) {
      var btn = e.target.closest("[data-place]");
      if (!btn) return;
      var b = btn.dataset.bounds.split(",").map(parseFloat);
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]]);
      pick(L.latLng(parseFloat(btn.dataset.lat), parseFloat(btn.dataset.lng)), false);
    });
    if (cfg.point) { place(cfg.point, false); map.setView(cfg.point, 16); locate(); }
    else fitConfig(map, cfg);
    boundaries.load();
  }

  /* --- the case map: clusters coloured by the worst light inside ----------------------------- */
  function casesMap(el) {
    var cfg = readJSON("cases-map-config") || {};
    var endpoints = readJSON("map-endpoints") || {};
    var map = baseMap(el, cfg);
    var boundaries = boundaryLayer(map, endpoints);
    var status = document.getElementById("map-status");
    var form = document.getElementById("map-filters");
    var clusters = L.markerClusterGroup({
      showCoverageOnHover: false, maxClusterRadius: 50, chunkedLoading: true,
      iconCreateFunction: function (cluster) {
        var worst = "done";
        cluster.getAllChildMarkers().forEach(function (m) {
          if (RANK[m.options.light] > RANK[worst]) worst = m.options.light;
        });
        var n = cluster.getChildCount();
        var size = n < 10 ? 34 : n < 100 ? 40 : 48;
        return L.divIcon({
          html: "<div><span>" + n + "</span></div>", className: "cluster cluster-" + worst,
          iconSize: L.point(size, size)
        });
      }
    }).addTo(map);
    var controller = null, timer = null;

    function params() {
      var b = map.getBounds();
      var q = new URLSearchParams(new FormData(form));
      q.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(","));
      return q;
    }
    var lastQuery = "";
    function load() {
      var query = params().toString();
      if (query === lastQuery) return;
      lastQuery = query;
      if (controller) controller.abort();
      controller = new AbortController();
      if (status) status.textContent = C.i18n.loading || "…";
      fetch(endpoints.cases + "?" + query, { credentials: "same-origin", signal: controller.signal })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) { if (status) status.textContent = res.body.message || ""; return; }
          clusters.clearLayers();
          var markers = res.body.items.map(function (it) {
            var m = L.circleMarker([it[1], it[2]], {
              radius: 7, weight: 2, color: "#fff", fillColor: COLORS[it[3]] || COLORS.normal, fillOpacity: 0.95, light: it[3]
            });
            var link = endpoints.detail.replace(/0\/$/, it[0] + "/");
            m.bindPopup(function () { return casePopup(link, it[5], it[6]); });
            return m;
          });
          clusters.addLayers(markers);
          if (status) {
            var text = C.fmt(C.i18n.shown || "%(n)s", { n: markers.length });
            if (res.body.truncated) text += " · " + C.fmt(C.i18n.truncated || "", { n: res.body.limit });
            status.textContent = text;
          }
        })
        .catch(function (e) {
          if (e.name === "AbortError") return;
          lastQuery = "";
          if (status) status.textContent = String(e);
        });
    }
    function schedule() { clearTimeout(timer); timer = setTimeout(load, 250); }
    map.on("moveend", schedule);
    form.addEventListener("change", function () {
      var q = new URLSearchParams(new FormData(form));
      history.replaceState(null, "", location.pathname + "?" + q.toString());
      load();
    });
    fitConfig(map, cfg);
    boundaries.load();
    load();
  }

  function casePopup(link, title, text) {
    var box = textEl("", "div", "map-pop");
    var a = document.createElement("a");
    a.href = link;
    a.appendChild(textEl(title, "strong"));
    box.appendChild(a);
    box.appendChild(document.createElement("br"));
    box.appendChild(textEl(text || ""));
    box.appendChild(document.createElement("br"));
    var open = textEl(C.i18n.open || "Open", "a", "btn btn-sm");
    open.href = link;
    box.appendChild(open);
    return box;
  }

  document.querySelectorAll("[data-map]").forEach(function (el) {
    var kind = el.dataset.map;
    if (kind === "case") staticMap(el, readJSON("case-map-data") || {});
    else if (kind === "grid") staticMap(el, readJSON("grid-map-data") || {});
    else if (kind === "intake") intakeMap(el);
    else if (kind === "cases") casesMap(el);
  });
})();
