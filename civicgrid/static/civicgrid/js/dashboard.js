/* 一屏观全城 — the city dashboard.
 *
 * Reads /api/analytics/dashboard (every figure comes from civicgrid/analytics/indicators.py)
 * and /api/analytics/map (grid outlines with open/overdue counts), draws them with ECharts,
 * refreshes every cfg.refreshSeconds while the tab is visible, drills down on a click on a
 * sub-area (ranking bar, map grid or breadcrumb) and switches to a dark full-screen wall mode.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("dash-config").textContent);
  var T = cfg.i18n;
  var state = {
    params: Object.assign({}, cfg.params),
    metric: "overdue",
    data: null,
    map: null,
    mapKey: null,
    charts: {},
    timer: null,
    loading: false,
    big: !!cfg.bigscreen,
  };
  var $ = function (id) { return document.getElementById(id); };

  // --- formatting -------------------------------------------------------------------------
  function fmtCount(v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString(); }
  function fmtRate(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }
  function fmtHours(v) { return v === null || v === undefined ? "—" : Number(v).toFixed(1); }
  function fmt(unit, v) {
    if (unit === "rate") return fmtRate(v);
    if (unit === "hours") return fmtHours(v);
    return fmtCount(v);
  }
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function change(tile, key, label) {
    var c = tile[key];
    if (c === null || c === undefined) return '<span class="flat">' + esc(label) + " —</span>";
    var up = c > 0, flat = Math.abs(c) < 1e-9;
    var text = tile.unit === "rate" ? (Math.abs(c) * 100).toFixed(1) + "pp" : (Math.abs(c) * 100).toFixed(1) + "%";
    var cls = "flat";
    if (!flat && tile.higher_is_better !== null && tile.higher_is_better !== undefined) {
      cls = (up === tile.higher_is_better) ? "good" : "bad";
    }
    var arrow = flat ? "→" : (up ? "▲" : "▼");
    return '<span>' + esc(label) + ' <span class="' + cls + '">' + arrow + " " + text + "</span></span>";
  }

  // --- data -------------------------------------------------------------------------------
  function query(extra) {
    var p = Object.assign({}, state.params, extra || {});
    var q = new URLSearchParams();
    Object.keys(p).forEach(function (k) { if (p[k]) q.set(k, p[k]); });
    return q;
  }
  function syncUrl() {
    var q = query();
    if (state.big) q.set("screen", "big");
    var url = window.location.pathname + (q.toString() ? "?" + q.toString() : "");
    window.history.replaceState(null, "", url);
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status + " " + url);
        return r.json();
      });
  }
  function load() {
    if (state.loading) return Promise.resolve();
    state.loading = true;
    document.body.classList.add("dash-loading");
    return getJSON(cfg.api.dashboard + "?" + query().toString())
      .then(function (d) {
        state.data = d;
        render(d);
        return loadMap(false);
      })
      .catch(function () { toast(T.loadFailed); })
      .then(function () {
        state.loading = false;
        document.body.classList.remove("dash-loading");
      });
  }
  function loadMap(force) {
    var key = state.params.area || cfg.root || "";
    var q = query();
    return getJSON(cfg.api.map + "?" + q.toString()).then(function (geo) {
      var name = "grids-" + key;
      if (force || state.mapKey !== name) {
        echarts.registerMap(name, geo);
        state.mapKey = name;
      }
      state.map = geo;
      renderMap();
    });
  }

  // --- charts -----------------------------------------------------------------------------
  function chart(id) {
    if (!state.charts[id]) {
      state.charts[id] = echarts.init($(id), state.big ? "dark" : null, { renderer: "canvas" });
    }
    return state.charts[id];
  }
  function resetCharts() {
    Object.keys(state.charts).forEach(function (k) { state.charts[k].dispose(); });
    state.charts = {};
    if (state.data) render(state.data);
    if (state.map) renderMap();
  }
  var palette = ["#1456b8", "#13a8a8", "#f0a020", "#d4380d", "#7a4fd6", "#2f9e44", "#c41d7f", "#597ef7"];
  function base() {
    return {
      backgroundColor: "transparent",
      color: state.big ? ["#2fb8ff", "#3ddc97", "#ffc53d", "#ff7a45", "#b37feb", "#5cdbd3"] : palette,
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      tooltip: { trigger: "axis", confine: true },
      grid: { left: 44, right: 16, top: 30, bottom: 28, containLabel: false },
    };
  }

  function render(d) {
    renderCrumbs(d.breadcrumbs || []);
    renderTiles(d.tiles);
    renderTrend(d.trend);
    renderRanking(d.ranking || []);
    renderCategories(d.categories || []);
    renderOverdue(d.overdue || []);
    renderWarnings(d.warnings || []);
    renderDepartments(d.departments || []);
    $("updated").textContent = T.updated + " " + d.generated_at.replace("T", " ").slice(0, 19) +
      " · " + d.period.label;
  }

  function renderCrumbs(list) {
    var el = $("crumbs");
    el.innerHTML = "";
    list.forEach(function (c, i) {
      if (i) {
        var sep = document.createElement("span");
        sep.className = "sep";
        sep.textContent = "›";
        el.appendChild(sep);
      }
      var last = i === list.length - 1;
      var a = document.createElement(last ? "span" : "a");
      a.textContent = c.name;
      if (last) a.className = "here";
      else {
        a.dataset.code = c.code;
        a.addEventListener("click", function () { drill(c.code); });
      }
      el.appendChild(a);
    });
  }

  function renderTiles(tiles) {
    $("tiles").innerHTML = tiles.map(function (t) {
      var unit = t.unit === "hours" ? "<small>" + esc(T.hours) + "</small>" : "";
      var detail = "";
      if (t.detail) {
        detail = '<div class="kpi-detail" title="' + esc(T.p90) + " " + fmtHours(t.detail.p90_hours) + " · " +
          esc(T.workHours) + " " + fmtHours(t.detail.mean_work_hours) + " / " + fmtHours(t.detail.p90_work_hours) +
          '">' + esc(T.p90) + " " + fmtHours(t.detail.p90_hours) + " · " + esc(T.workHours) + " " +
          fmtHours(t.detail.mean_work_hours) + "</div>";
      }
      var danger = t.key === "overdue" && t.value > 0 ? " kpi-danger" : "";
      return '<div class="kpi' + danger + '" data-key="' + esc(t.key) + '">' +
        '<div class="kpi-label">' + esc(t.label) + "</div>" +
        '<div class="kpi-value">' + fmt(t.unit, t.value) + unit + "</div>" + detail +
        '<div class="kpi-cmp">' + change(t, "change_previous", T.vsPrevious) +
        change(t, "change_year_ago", T.vsYearAgo) + "</div></div>";
    }).join("");
  }

  function renderTrend(tr) {
    var labels = tr.labels.map(function (s) { return tr.bucket === "month" ? s.slice(0, 7) : s.slice(5); });
    var o = base();
    o.legend = { top: 0, right: 0, itemWidth: 14, itemHeight: 8, textStyle: { fontSize: 11 } };
    o.xAxis = { type: "category", data: labels, axisTick: { show: false } };
    o.yAxis = { type: "value", minInterval: 1, splitLine: { lineStyle: { opacity: 0.35 } } };
    o.series = [
      { name: T.received, type: "bar", data: tr.received, barMaxWidth: 14 },
      { name: T.closed, type: "line", data: tr.closed, smooth: true, symbol: "none" },
      { name: T.closedOnTime, type: "line", data: tr.closed_on_time, smooth: true, symbol: "none",
        lineStyle: { type: "dashed" } },
    ];
    chart("trend").setOption(o, true);
  }

  function renderRanking(rows) {
    var el = chart("ranking");
    var top = rows.slice(0, 15);
    var o = base();
    o.tooltip = {
      trigger: "axis", confine: true, axisPointer: { type: "shadow" },
      formatter: function (ps) {
        var r = top[ps[0].dataIndex];
        return esc(r.name) + "<br>" + esc(T.onTimeCloseRate) + " " + fmtRate(r.on_time_close_rate) +
          "<br>" + esc(T.closeRate) + " " + fmtRate(r.close_rate) + "<br>" + esc(T.received) + " " +
          fmtCount(r.received) + " · " + esc(T.overdue) + " " + fmtCount(r.overdue) +
          "<br><i>" + esc(T.drill) + "</i>";
      },
    };
    o.grid = { left: 8, right: 48, top: 6, bottom: 6, containLabel: true };
    o.xAxis = { type: "value", max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } },
      splitLine: { lineStyle: { opacity: 0.35 } } };
    o.yAxis = { type: "category", inverse: true, data: top.map(function (r) { return r.name; }),
      axisTick: { show: false }, axisLabel: { width: 110, overflow: "truncate" } };
    o.series = [{
      type: "bar", barMaxWidth: 14, cursor: "pointer",
      data: top.map(function (r) {
        var v = r.on_time_close_rate;
        var color = v === null ? "#c0c6d0" : v >= 0.9 ? (state.big ? "#3ddc97" : "#1f8f4e") :
          v >= 0.75 ? (state.big ? "#ffc53d" : "#d48806") : (state.big ? "#ff5c6c" : "#cf1322");
        return { value: v === null ? 0 : v, itemStyle: { color: color } };
      }),
      label: { show: true, position: "right", fontSize: 11,
        formatter: function (p) { return fmtRate(top[p.dataIndex].on_time_close_rate); } },
    }];
    el.setOption(o, true);
    // The whole row drills down, not only the bar: an area with a 0 % (or no) rate has no bar to hit.
    var zr = el.getZr();
    zr.off("click");
    zr.on("click", function (e) {
      var px = [e.offsetX, e.offsetY];
      if (!el.containPixel("grid", px)) return;
      var idx = el.convertFromPixel({ seriesIndex: 0 }, px)[1];
      if (top[idx]) drill(top[idx].code);
    });
  }

  function renderCategories(rows) {
    var o = base();
    o.tooltip = { trigger: "item", confine: true, formatter: "{b}: {c} ({d}%)" };
    o.legend = { type: "scroll", orient: "vertical", right: 0, top: "middle", textStyle: { fontSize: 11 } };
    o.series = [{
      type: "pie", radius: ["42%", "70%"], center: ["36%", "52%"], avoidLabelOverlap: true,
      label: { show: false }, itemStyle: { borderColor: state.big ? "#0a2042" : "#fff", borderWidth: 1 },
      data: rows.map(function (r) { return { name: r.name, value: r.received }; }),
    }];
    chart("categories").setOption(o, true);
  }

  function renderMap() {
    if (!state.map || !state.mapKey) return;
    var metric = state.metric;
    var feats = state.map.features || [];
    var max = 1;
    var data = feats.map(function (f) {
      var p = f.properties;
      max = Math.max(max, p[metric] || 0);
      return { name: p.code, value: p[metric] || 0, open: p.open || 0, overdue: p.overdue || 0, label: p.name };
    });
    var colors = metric === "overdue"
      ? (state.big ? ["#103a63", "#ffc53d", "#ff4d4f"] : ["#e8f3ee", "#f7c35f", "#cf1322"])
      : (state.big ? ["#103a63", "#2fb8ff", "#b5f5ec"] : ["#eef4fb", "#5b9bdf", "#0d3f8a"]);
    var o = {
      backgroundColor: "transparent",
      tooltip: {
        trigger: "item", confine: true,
        formatter: function (p) {
          if (!p.data) return esc(p.name);
          return esc(p.data.label) + " <span style='opacity:.7'>" + esc(p.name) + "</span><br>" +
            esc(T.mapOpen) + " " + p.data.open + " · " + esc(T.mapOverdue) + " " + p.data.overdue;
        },
      },
      visualMap: {
        min: 0, max: max, left: 8, bottom: 8, calculable: true, itemHeight: 90,
        text: [String(max), "0"], inRange: { color: colors },
        textStyle: { color: state.big ? "#bfe3ff" : "#3a4556", fontSize: 11 },
      },
      series: [{
        type: "map", map: state.mapKey, nameProperty: "code", roam: true, selectedMode: false,
        aspectScale: 0.85, left: 12, right: 12, top: 8, bottom: 8, data: data,
        itemStyle: { borderColor: state.big ? "rgba(120,190,255,.55)" : "#ffffff", borderWidth: 0.6,
          areaColor: state.big ? "#0e2c55" : "#eef2f7" },
        emphasis: { label: { show: false }, itemStyle: { areaColor: state.big ? "#2fb8ff" : "#ffd666" } },
        label: { show: false },
      }],
    };
    var c = chart("map");
    c.setOption(o, true);
    c.off("click");
    c.on("click", function (p) { if (p.name) drillToGrid(p.name); });
  }

  function renderOverdue(rows) {
    $("overdue-count").textContent = rows.length ? String(rows.length) + (rows.length >= 15 ? "+" : "") : "0";
    var body = $("overdue").tBodies[0];
    if (!rows.length) {
      body.innerHTML = '<tr><td colspan="5" class="muted">' + esc(T.noOverdue) + "</td></tr>";
      return;
    }
    body.innerHTML = rows.map(function (r) {
      return "<tr><td class='code'>" + esc(r.tracking_code) + "</td><td>" + esc(r.category) + "</td><td>" +
        esc(r.area) + (r.department ? " · " + esc(r.department) : "") + "</td><td>" + esc(r.state_label) +
        "</td><td class='num'>" + fmtHours(r.overdue_hours) + esc(T.hours) + "</td></tr>";
    }).join("");
  }

  function renderWarnings(rows) {
    var el = $("warnings");
    if (!rows.length) {
      el.innerHTML = '<li class="none">' + esc(T.noWarnings) + "</li>";
      return;
    }
    el.innerHTML = rows.slice(0, 6).map(function (w) {
      var text = T.warningText.replace("%(n)s", w.count).replace("%(b)s", w.baseline.toFixed(1))
        .replace("%(p)s", w.p_value.toExponential(1));
      return "<li><b>" + esc(w.area_name) + " · " + esc(w.category_name) + "</b><br>" + esc(text) + "</li>";
    }).join("");
  }

  function renderDepartments(rows) {
    var body = $("departments").tBodies[0];
    if (!rows.length) {
      body.innerHTML = '<tr><td colspan="4" class="muted">' + esc(T.noData) + "</td></tr>";
      return;
    }
    body.innerHTML = rows.map(function (r) {
      return "<tr><td>" + esc(r.name) + "</td><td class='num'>" + (r.score === null ? "—" : r.score.toFixed(1)) +
        "</td><td class='num'>" + fmtRate(r.on_time_close_rate) + "</td><td class='num'>" +
        fmtRate(r.rework_rate) + "</td></tr>";
    }).join("");
  }

  // --- interaction ------------------------------------------------------------------------
  function drill(code) {
    state.params.area = code || "";
    syncUrl();
    load();
  }
  function drillToGrid(gridCode) {
    // Into the sub-area (of the area shown) that contains the grid; at community level, the grid.
    var rows = (state.data && state.data.ranking) || [];
    for (var i = 0; i < rows.length; i++) {
      if (gridCode.indexOf(rows[i].prefix) === 0) return drill(rows[i].code);
    }
  }

  function toast(html) {
    var el = $("dash-toast");
    el.innerHTML = html;
    el.hidden = false;
    clearTimeout(toast.t);
    toast.t = setTimeout(function () { el.hidden = true; }, 6000);
  }

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function requestExport(kind, fmtName) {
    var params = {};
    var q = query();
    q.forEach(function (v, k) { params[k] = v; });
    fetch(cfg.api.exports, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ kind: kind, fmt: fmtName, params: params }),
    }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function () {
      toast(esc(T.exportQueued) + ' <a href="' + cfg.exportsPage + '">→</a>');
    }).catch(function () { toast(T.loadFailed); });
  }

  function setBig(on) {
    state.big = on;
    document.body.classList.toggle("bigscreen", on);
    if (on && document.documentElement.requestFullscreen && !document.fullscreenElement) {
      document.documentElement.requestFullscreen().catch(function () { /* not allowed: stay windowed */ });
    } else if (!on && document.fullscreenElement && document.exitFullscreen) {
      document.exitFullscreen().catch(function () {});
    }
    syncUrl();
    resetCharts();
  }

  function bind() {
    var form = $("dash-filters");
    form.addEventListener("change", function (e) {
      var el = e.target;
      if (!el.name) return;
      state.params[el.name] = el.value;
      syncUrl();
      load();
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    Array.prototype.forEach.call(document.querySelectorAll("[data-export]"), function (b) {
      b.addEventListener("click", function () { requestExport(b.dataset.export, b.dataset.fmt); });
    });
    $("bigscreen-toggle").addEventListener("click", function () { setBig(!state.big); });
    document.addEventListener("fullscreenchange", function () {
      if (!document.fullscreenElement && state.big) setBig(false);
    });
    Array.prototype.forEach.call($("map-metric").querySelectorAll("button"), function (b) {
      b.addEventListener("click", function () {
        state.metric = b.dataset.metric;
        Array.prototype.forEach.call($("map-metric").querySelectorAll("button"), function (x) {
          x.classList.toggle("on", x === b);
        });
        renderMap();
      });
    });
    window.addEventListener("resize", function () {
      Object.keys(state.charts).forEach(function (k) { state.charts[k].resize(); });
    });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) load(); });
    state.timer = setInterval(function () { if (!document.hidden) load(); }, cfg.refreshSeconds * 1000);
  }

  bind();
  load();
  window.civicgridDashboard = { state: state, load: load, drill: drill };
})();
