/* civicgrid field app core: the phone's outbox (IndexedDB), sync, network state, service worker.
 *
 * Every write of the app is an outbox item: {id (the client id, a UUID), kind, url, json | fields +
 * files (Blobs), label, created}. Items are sent in order when the network allows; the server makes
 * each idempotent by its client id, so a retry after a lost answer never duplicates anything.
 * Answers decide an item's fate: 2xx → sent (removed, kept in a short "sent" log); network error,
 * 5xx, 429 → kept for the next round; expired session → kept, the user is asked to sign in;
 * any other 4xx → kept as "failed" with the server's message until the user retries or discards.
 * GPS points of patrols live in their own store and go up in batches of 100.
 */
(function () {
  "use strict";
  var CG = (window.CG = window.CG || {});
  // Pages hand their strings and URLs over as JSON blocks (<script type="application/json"
  // data-cg="T|urls">), not inline script, which the CSP forbids. Page scripts call it again
  // for the blocks that come after this file.
  CG.loadData = function () {
    document.querySelectorAll('script[type="application/json"][data-cg]:not([data-loaded])').forEach(function (el) {
      var key = el.getAttribute("data-cg");
      CG[key] = Object.assign(CG[key] || {}, JSON.parse(el.textContent || "{}"));
      el.setAttribute("data-loaded", "");
    });
  };
  CG.T = CG.T || {};
  CG.urls = CG.urls || {};
  CG.loadData();
  var T = CG.T;
  var DB_NAME = "civicgrid-field";
  var BATCH = 100;

  // --- small utilities ------------------------------------------------------------------------
  CG.uuid = function () {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  };
  CG.csrf = function () {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  };
  CG.toast = function (msg, ms) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = msg; t.classList.add("show");
    clearTimeout(t._h); t._h = setTimeout(function () { t.classList.remove("show"); }, ms || 2400);
  };
  CG.esc = function (s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };
  // Data shown in Leaflet tooltips is handed over as a text node, never as an HTML string.
  CG.text = function (s) {
    var e = document.createElement("span");
    e.textContent = s == null ? "" : String(s);
    return e;
  };
  CG.fmtTime = function (ms) {
    var d = new Date(ms), p = function (n) { return (n < 10 ? "0" : "") + n; };
    return (d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" + p(d.getMinutes());
  };
  // Which datum the phone's positions are in. Browsers report WGS-84 (W3C Geolocation); a few
  // Chinese WebViews report GCJ-02, and the worker can say so on the "Me" page.
  CG.crs = function () { return localStorage.getItem("cg.crs") || "wgs84"; };
  CG.setCrs = function (v) { localStorage.setItem("cg.crs", v); };

  CG.locate = function (opts) {
    return new Promise(function (resolve, reject) {
      if (!navigator.geolocation) { reject(new Error("no geolocation")); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ lat: p.coords.latitude, lng: p.coords.longitude, acc: p.coords.accuracy, t: p.timestamp || Date.now(), crs: CG.crs() });
      }, reject, Object.assign({ enableHighAccuracy: true, timeout: 20000, maximumAge: 15000 }, opts || {}));
    });
  };

  // Phone photos are 3–8 MB; a 1600 px JPEG is plenty for evidence and uploads on weak signal.
  CG.shrink = function (file, max, quality) {
    max = max || 1600; quality = quality || 0.82;
    if (!file || !/^image\//.test(file.type) || file.size < 350 * 1024 || !window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bmp) {
      var s = Math.min(1, max / Math.max(bmp.width, bmp.height));
      var c = document.createElement("canvas");
      c.width = Math.round(bmp.width * s); c.height = Math.round(bmp.height * s);
      c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
      return new Promise(function (res) { c.toBlob(function (b) { res(b && b.size < file.size ? b : file); }, "image/jpeg", quality); });
    }).catch(function () { return file; });
  };

  // --- IndexedDB ------------------------------------------------------------------------------
  var dbPromise = null;
  function db() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var d = req.result;
        if (!d.objectStoreNames.contains("outbox")) d.createObjectStore("outbox", { keyPath: "id" });
        if (!d.objectStoreNames.contains("points")) {
          var s = d.createObjectStore("points", { keyPath: ["patrol", "t"] });
          s.createIndex("patrol", "patrol");
        }
        if (!d.objectStoreNames.contains("kv")) d.createObjectStore("kv", { keyPath: "k" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
    return dbPromise;
  }
  function run(store, mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var tx = d.transaction(store, mode), out;
        var r = fn(tx.objectStore(store));
        if (r) r.onsuccess = function () { out = r.result; };
        tx.oncomplete = function () { resolve(out); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  CG.db = {
    put: function (store, v) { return run(store, "readwrite", function (s) { return s.put(v); }); },
    get: function (store, k) { return run(store, "readonly", function (s) { return s.get(k); }); },
    del: function (store, k) { return run(store, "readwrite", function (s) { return s.delete(k); }); },
    all: function (store) { return run(store, "readonly", function (s) { return s.getAll(); }); },
    count: function (store) { return run(store, "readonly", function (s) { return s.count(); }); },
    putMany: function (store, values) {
      return run(store, "readwrite", function (s) { values.forEach(function (v) { s.put(v); }); });
    },
    delMany: function (store, keys) {
      return run(store, "readwrite", function (s) { keys.forEach(function (k) { s.delete(k); }); });
    }
  };
  CG.kv = {
    get: function (k, dflt) { return CG.db.get("kv", k).then(function (r) { return r ? r.v : dflt; }); },
    set: function (k, v) { return CG.db.put("kv", { k: k, v: v }); }
  };

  function changed() { window.dispatchEvent(new CustomEvent("cg:changed")); updateBadge(); }

  // --- outbox ---------------------------------------------------------------------------------
  CG.outbox = {
    add: function (item) {
      item.id = item.id || CG.uuid();
      item.created = item.created || Date.now();
      item.status = "waiting";
      item.attempts = 0;
      return CG.db.put("outbox", item).then(function () {
        changed();
        CG.sync();
        return item;
      });
    },
    list: function () {
      return CG.db.all("outbox").then(function (items) {
        return items.sort(function (a, b) { return a.created - b.created; });
      });
    },
    retry: function (id) {
      return CG.db.get("outbox", id).then(function (it) {
        if (!it) return;
        it.status = "waiting"; it.error = null;
        return CG.db.put("outbox", it);
      }).then(function () { changed(); return CG.sync(); });
    },
    discard: function (id) { return CG.db.del("outbox", id).then(changed); }
  };

  /* Grid outlines on a map: mine strong with labels, the neighbours light. Returns the layer of mine. */
  CG.drawGrids = function (map, fc) {
    if (!fc || !fc.features.length) return null;
    var mine = { type: "FeatureCollection", features: fc.features.filter(function (f) { return f.properties.mine !== false; }) };
    var others = { type: "FeatureCollection", features: fc.features.filter(function (f) { return f.properties.mine === false; }) };
    L.geoJSON(others, { interactive: false, style: { color: "#8aa4c8", weight: 1, dashArray: "4 3", fillColor: "#dfe7f2", fillOpacity: 0.35 } }).addTo(map);
    var layer = L.geoJSON(mine, { interactive: false, style: { color: "#1668dc", weight: 2.5, fillColor: "#ffffff", fillOpacity: 0.85 } }).addTo(map);
    layer.eachLayer(function (l) {
      l.bindTooltip(CG.text(l.feature.properties.name), { permanent: true, direction: "center", className: "grid-label" });
    });
    return layer;
  };

  /* Queue an item and try to send it now: resolves {state: "sent" | "queued" | "failed", data, error}. */
  CG.submit = function (item) {
    var sent = null;
    function onSent(e) { if (e.detail.item.id === item.id) sent = e.detail.data; }
    window.addEventListener("cg:sent", onSent);
    return CG.outbox.add(item).then(function () { return CG.sync(); }).then(function () {
      return CG.db.get("outbox", item.id);
    }).then(function (left) {
      window.removeEventListener("cg:sent", onSent);
      if (!left) return { state: "sent", data: sent || {} };
      if (left.status === "failed") return { state: "failed", error: left.error };
      return { state: "queued" };
    });
  };

  /* Photo pickers: <div class="m-photos" data-picker> with a file input; previews, remove, max. */
  CG.initPickers = function (root) {
    (root || document).querySelectorAll("[data-picker]").forEach(function (box) {
      if (box._files) return;
      box._files = [];
      var input = box.querySelector("input[type=file]");
      var max = parseInt(box.dataset.max || "6", 10);
      function render() {
        box.querySelectorAll(".ph").forEach(function (n) { n.remove(); });
        box._files.forEach(function (f, i) {
          var d = document.createElement("div"); d.className = "ph";
          var img = document.createElement("img"); img.src = URL.createObjectURL(f); d.appendChild(img);
          var x = document.createElement("button"); x.type = "button"; x.className = "x"; x.textContent = "×";
          x.addEventListener("click", function () { box._files.splice(i, 1); render(); });
          d.appendChild(x);
          box.insertBefore(d, box.querySelector(".add"));
        });
        box.querySelector(".add").classList.toggle("hidden", box._files.length >= max);
      }
      input.addEventListener("change", function () {
        Array.prototype.forEach.call(input.files, function (f) { if (box._files.length < max) box._files.push(f); });
        input.value = "";
        render();
      });
      box._render = render;
    });
  };
  CG.pickedFiles = function (box, name) {
    var files = (box && box._files) || [];
    return Promise.all(files.map(function (f) { return CG.shrink(f); })).then(function (blobs) {
      return blobs.map(function (b, i) { return { name: name, blob: b, filename: name + "-" + (i + 1) + (b.type === "image/png" ? ".png" : ".jpg") }; });
    });
  };

  CG.points = {
    add: function (patrol, list) {
      return CG.db.putMany("points", list.map(function (p) {
        return { patrol: patrol, t: p.t, lat: p.lat, lng: p.lng, acc: p.acc, crs: p.crs || "wgs84" };
      })).then(changed);
    },
    count: function () { return CG.db.count("points"); }
  };

  function post(item) {
    var headers = { "X-CSRFToken": CG.csrf(), "Accept": "application/json" };
    var body;
    if (item.json) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(item.json);
    } else {
      body = new FormData();
      Object.keys(item.fields || {}).forEach(function (k) {
        var v = item.fields[k];
        if (Array.isArray(v)) v.forEach(function (x) { body.append(k, x); });
        else if (v !== null && v !== undefined) body.append(k, v);
      });
      (item.files || []).forEach(function (f) { body.append(f.name, f.blob, f.filename || "file"); });
    }
    return fetch(item.url, { method: "POST", headers: headers, body: body, credentials: "same-origin" });
  }

  function answer(res) {
    return res.text().then(function (txt) {
      var data = null;
      try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
      return { status: res.status, ok: res.ok, data: data || {} };
    });
  }

  function isAuthProblem(a) {
    var code = a.data && a.data.code;
    return a.status === 401 || (a.status === 403 && (code === "csrf_failed" || code === "forbidden" || !code));
  }

  var STOP = "stop";
  function sendItem(item) {
    return post(item).then(answer).then(function (a) {
      if (a.ok) {
        return CG.db.del("outbox", item.id).then(function () { return remember(item, a.data); })
          .then(function () {
            window.dispatchEvent(new CustomEvent("cg:sent", { detail: { item: item, data: a.data } }));
            return "sent";
          });
      }
      if (isAuthProblem(a)) { return CG.kv.set("auth", false).then(function () { return STOP; }); }
      if (a.status >= 500 || a.status === 429 || a.status === 408) {
        item.attempts = (item.attempts || 0) + 1; item.lastTry = Date.now();
        return CG.db.put("outbox", item).then(function () { return STOP; });
      }
      item.status = "failed";
      item.error = (a.data && a.data.message) || ("HTTP " + a.status);
      item.lastTry = Date.now();
      return CG.db.put("outbox", item).then(function () { return "failed"; });
    }, function () { return STOP; }); // no network: try again later
  }

  function remember(item, data) {
    return CG.kv.get("sent", []).then(function (list) {
      list.unshift({ id: item.id, kind: item.kind, label: item.label, at: Date.now(), data: data });
      return CG.kv.set("sent", list.slice(0, 30));
    });
  }

  function flushOutbox() {
    return CG.outbox.list().then(function (items) {
      var waiting = items.filter(function (i) { return i.status === "waiting"; });
      var i = 0;
      function next() {
        if (i >= waiting.length) return true;
        return sendItem(waiting[i++]).then(function (r) { return r === STOP ? false : next(); });
      }
      return next();
    });
  }

  function flushPoints() {
    return CG.db.all("points").then(function (pts) {
      var by = {};
      pts.forEach(function (p) { (by[p.patrol] = by[p.patrol] || []).push(p); });
      var patrols = Object.keys(by), k = 0;
      function nextPatrol() {
        if (k >= patrols.length) return true;
        var uuid = patrols[k++];
        var list = by[uuid].sort(function (a, b) { return a.t - b.t; });
        var j = 0;
        function nextBatch() {
          if (j >= list.length) return nextPatrol();
          var batch = list.slice(j, j + BATCH);
          j += BATCH;
          var crs = batch[0].crs || "wgs84";
          return post({ url: "/api/field/patrols/" + uuid + "/points", json: {
            crs: crs, points: batch.map(function (p) { return { t: p.t, lat: p.lat, lng: p.lng, acc: p.acc }; })
          } }).then(answer).then(function (a) {
            var keys = batch.map(function (p) { return [p.patrol, p.t]; });
            if (a.ok) {
              return CG.db.delMany("points", keys).then(function () {
                window.dispatchEvent(new CustomEvent("cg:points", { detail: a.data }));
                return CG.kv.get("rejected", 0);
              }).then(function (n) {
                return CG.kv.set("rejected", n + (a.data.rejected || []).length);
              }).then(nextBatch);
            }
            if (isAuthProblem(a)) return CG.kv.set("auth", false).then(function () { return false; });
            if (a.status === 404) {
              // The patrol is unknown: its start may still be waiting in the outbox.
              return CG.outbox.list().then(function (items) {
                var pending = items.some(function (it) { return it.kind === "patrol_start" && it.json && it.json.uuid === uuid && it.status === "waiting"; });
                return pending ? nextPatrol() : CG.db.delMany("points", list.map(function (p) { return [p.patrol, p.t]; })).then(nextPatrol);
              });
            }
            return false;
          }, function () { return false; });
        }
        return nextBatch();
      }
      return nextPatrol();
    });
  }

  var syncing = null;
  CG.sync = function () {
    if (syncing) return syncing;
    if (!navigator.onLine) { updateNet(); return Promise.resolve(false); }
    setSyncing(true);
    syncing = flushOutbox().then(function (ok) { return ok ? flushPoints() : false; })
      .catch(function () { return false; })
      .then(function (r) { syncing = null; setSyncing(false); changed(); return r; });
    return syncing;
  };

  // --- status in the page --------------------------------------------------------------------
  function updateNet() {
    var el = document.getElementById("net-state");
    if (!el) return;
    var on = navigator.onLine;
    el.classList.toggle("off", !on);
    el.querySelector("span").textContent = on ? (T.online || "online") : (T.offline || "offline");
  }
  function setSyncing(on) {
    var el = document.getElementById("net-state");
    if (el && on) el.querySelector("span").textContent = T.syncing || "…";
    if (!on) updateNet();
  }
  function updateBadge() {
    return Promise.all([CG.db.count("outbox"), CG.db.count("points"), CG.kv.get("auth", true)]).then(function (r) {
      var n = r[0], pts = r[1];
      document.querySelectorAll("#outbox-badge, [data-outbox-count]").forEach(function (el) {
        el.textContent = n;
        if (el.id === "outbox-badge") el.classList.toggle("hidden", n === 0);
      });
      document.querySelectorAll("[data-points-count]").forEach(function (el) { el.textContent = pts; });
      var banner = document.getElementById("outbox-banner");
      if (banner) {
        banner.classList.toggle("hidden", n + pts === 0);
        var c = banner.querySelector(".c");
        if (c) c.textContent = n + (pts ? " + " + pts + " " + (T.points || "") : "");
      }
      var auth = document.getElementById("auth-banner");
      if (auth) auth.classList.toggle("hidden", r[2] !== false || n + pts === 0);
      return { items: n, points: pts };
    }).catch(function () { return { items: 0, points: 0 }; });
  }
  CG.updateBadge = updateBadge;

  // --- outbox page ---------------------------------------------------------------------------
  var CAMERA = '<svg class="i" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"><path d="M23 19a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h4l2-3h6l2 3h4a2 2 0 0 1 2 2z"/><circle cx="12" cy="13" r="4"/></svg>';
  CG.renderOutbox = function (box, sentBox) {
    return Promise.all([CG.outbox.list(), CG.points.count(), CG.kv.get("sent", [])]).then(function (r) {
      var items = r[0], pts = r[1], sent = r[2];
      var html = "";
      items.forEach(function (it) {
        var failed = it.status === "failed";
        html += '<li class="m-item" data-id="' + it.id + '" data-status="' + it.status + '">' +
          '<div class="body"><div class="t"><span class="tx">' + CG.esc(it.label || T[it.kind] || it.kind) + "</span>" +
          (failed ? '<span class="tag danger">' + CG.esc(T.failed) + "</span>" : '<span class="tag warn">' + CG.esc(T.waiting) + "</span>") +
          "</div>" + (it.summary ? '<div class="d">' + CG.esc(it.summary) + "</div>" : "") +
          '<div class="meta"><span>' + CG.fmtTime(it.created) + "</span>" +
          ((it.files || []).length ? "<span>" + CAMERA + " " + it.files.length + "</span>" : "") +
          (failed ? '<span style="color:var(--danger)">' + CG.esc(it.error) + "</span>" : "") + "</div>" +
          (failed ? '<div class="m-btns" style="margin-top:8px"><button class="m-btn sm ghost js-retry">' + CG.esc(T.retry) +
            '</button><button class="m-btn sm line js-discard">' + CG.esc(T.discard) + "</button></div>" : "") +
          "</div></li>";
      });
      if (pts) html += '<li class="m-item"><div class="body"><div class="t">' + pts + " " + CG.esc(T.points) + '</div><div class="meta">' + CG.esc(T.waiting) + "</div></div></li>";
      box.innerHTML = html || "";
      box.closest(".m-card").querySelector(".m-empty").classList.toggle("hidden", !!html);
      box.querySelectorAll(".js-retry").forEach(function (b) {
        b.addEventListener("click", function () { CG.outbox.retry(b.closest("li").dataset.id); });
      });
      box.querySelectorAll(".js-discard").forEach(function (b) {
        b.addEventListener("click", function () {
          if (confirm(T.confirmDiscard)) CG.outbox.discard(b.closest("li").dataset.id);
        });
      });
      if (sentBox) {
        sentBox.innerHTML = sent.map(function (s) {
          var d = s.data || {}, link = d.case_id ? "/field/cases/" + d.case_id + "/" : null;
          return '<li class="m-item"><div class="body"><div class="t"><span class="tx">' + CG.esc(s.label || T[s.kind] || s.kind) +
            '</span><span class="tag ok">' + CG.esc(T.sent) + "</span></div>" +
            '<div class="meta"><span>' + CG.fmtTime(s.at) + "</span>" +
            (d.tracking_code ? (link ? '<a href="' + link + '">' + CG.esc(d.tracking_code) + "</a>" : "<span>" + CG.esc(d.tracking_code) + "</span>") : "") +
            (d.state_label ? "<span>" + CG.esc(d.state_label) + "</span>" : "") + "</div></div></li>";
        }).join("") || '<li class="m-empty">' + CG.esc(T.noneSent || "") + "</li>";
      }
    });
  };

  // --- start ---------------------------------------------------------------------------------
  window.addEventListener("online", function () { updateNet(); CG.sync(); });
  window.addEventListener("offline", updateNet);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) CG.sync(); });
  setInterval(function () { if (navigator.onLine) CG.sync(); }, 15000);
  updateNet();
  updateBadge();
  // A page load proves the session works again.
  CG.kv.set("auth", true).then(function () { CG.sync(); });

  if ("serviceWorker" in navigator && CG.urls && CG.urls.sw) {
    navigator.serviceWorker.register(CG.urls.sw, { scope: CG.urls.scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      // Keep the app's pages in the cache while online, at most every ten minutes.
      var last = parseInt(localStorage.getItem("cg.warm") || "0", 10);
      if (navigator.onLine && reg.active && Date.now() - last > 600000) {
        localStorage.setItem("cg.warm", String(Date.now()));
        reg.active.postMessage({ type: "warm" });  // the worker's own page list (SHELL_PAGES)
      }
    }).catch(function () {});
  }
})();
