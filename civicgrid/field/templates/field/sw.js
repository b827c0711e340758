/* civicgrid field app service worker, version {{ version }}.
 * Static assets: cache first (their URLs change with their content). Pages of /field/: network
 * first, the cached copy when offline, else the offline page. The API is never cached: writes
 * wait in the page's outbox (IndexedDB) instead. */
"use strict";
const VERSION = "{{ version }}";
const ASSETS = {{ assets|safe }};
const PAGES = {{ pages|safe }};
const OFFLINE = "{{ offline }}";
const STATIC_CACHE = "cg-static-" + VERSION;
const PAGE_CACHE = "cg-pages";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(STATIC_CACHE)
      .then((c) => Promise.all(ASSETS.concat([OFFLINE]).map((u) => c.add(u).catch(() => null))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("cg-static-") && k !== STATIC_CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

async function warm(pages) {
  const cache = await caches.open(PAGE_CACHE);
  for (const url of pages) {
    try {
      const res = await fetch(url, { credentials: "same-origin", redirect: "follow" });
      // A redirect means the session is gone (login page): never cache that as the app.
      if (res.ok && !res.redirected) await cache.put(url, res);
    } catch (e) { /* offline: keep what we have */ }
  }
}

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "warm") event.waitUntil(warm(event.data.pages || PAGES));
});

async function pageFirst(request) {
  const cache = await caches.open(PAGE_CACHE);
  try {
    const res = await fetch(request);
    if (res.ok && !res.redirected) cache.put(request, res.clone());
    return res;
  } catch (e) {
    // Django varies pages on Cookie and Accept-Language, headers a stored request may not carry.
    const hit = (await cache.match(request, { ignoreVary: true })) || (await cache.match(request, { ignoreSearch: true, ignoreVary: true }));
    if (hit) return hit;
    const off = await caches.match(OFFLINE);
    return off || new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });
  }
}

async function assetFirst(request) {
  const hit = await caches.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok) {
    const cache = await caches.open(STATIC_CACHE);
    cache.put(request, res.clone());
  }
  return res;
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/media/")) return;
  if (req.mode === "navigate" && url.pathname.startsWith("{{ scope }}")) {
    event.respondWith(pageFirst(req));
  } else if (url.pathname.startsWith("{{ static_url }}")) {
    event.respondWith(assetFirst(req));
  }
});
