/* civicgrid field app service worker, version {{ version }}.
 * Static assets: cache first (their URLs change with their content). Pages of /field/: network
 * first, the cached copy when offline, else the offline page. The API and files are never
 * cached: writes wait in the page's outbox (IndexedDB) instead.
 *
 * Pages are a signed-in user's own: the server marks each with X-CG-Principal (an opaque id of
 * the user). They are kept in one cache per principal; a page of another principal, a sign-out
 * (message "logout", or page.js deleting the caches before the form goes) or a signed-out page
 * wipes them all. Pages without the header (signed out) are never stored.
 *
 * Vary: Django's pages vary on Cookie and Accept-Language. The Cache API cannot see cookies, and
 * navigations carry headers the warm-up fetches do not, so the worker honours Vary itself: the
 * cache is chosen by principal (Cookie) and by the page's Content-Language (Accept-Language), and
 * entries are stored and looked up under a bare request of the URL. */
"use strict";
const VERSION = "{{ version }}";
const ASSETS = {{ assets|safe }};
const PAGES = {{ pages|safe }};
const OFFLINE = "{{ offline }}";
const STATIC_CACHE = "cg-static-" + VERSION;
const PAGE_PREFIX = "cg-pages";
const META_CACHE = "cg-meta";
const WHO_KEY = "/__cg/principal";

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
      .then((keys) => Promise.all(keys.filter((k) =>
        (k.startsWith("cg-static-") && k !== STATIC_CACHE) || k === PAGE_PREFIX  // older, shared page cache
      ).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

// "<principal>.<language>" of the latest signed-in page seen, which names the page cache.
async function principal() {
  const hit = await (await caches.open(META_CACHE)).match(WHO_KEY);
  return hit ? hit.text() : "";
}

function bare(request) {
  return new Request(typeof request === "string" ? request : request.url, { method: "GET" });
}

async function forget(keep) {
  const keys = await caches.keys();
  await Promise.all(keys.filter((k) => k.startsWith(PAGE_PREFIX) && k !== keep).map((k) => caches.delete(k)));
  if (!keep) await caches.delete(META_CACHE);
}

async function store(request, res) {
  const user = res.headers.get("X-CG-Principal");
  if (!user || !res.ok || res.redirected) return;
  const vary = (res.headers.get("Vary") || "").toLowerCase();
  if (vary.indexOf("*") >= 0) return;
  const who = user + "." + (res.headers.get("Content-Language") || "").replace(/[^A-Za-z0-9-]/g, "");
  const name = PAGE_PREFIX + "-" + who;
  if ((await principal()) !== who) {
    await forget(name);
    await (await caches.open(META_CACHE)).put(WHO_KEY, new Response(who));
  }
  await (await caches.open(name)).put(bare(request), res);
}

async function warm(pages) {
  for (const url of pages) {
    try {
      const res = await fetch(url, { credentials: "same-origin", redirect: "follow" });
      // A redirect means the session is gone (login page): never cache that as the app.
      await store(url, res);
    } catch (e) { /* offline: keep what we have */ }
  }
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "warm") event.waitUntil(warm(PAGES));
  if (data.type === "logout") {
    event.waitUntil(forget("").then(() => { if (event.ports[0]) event.ports[0].postMessage("done"); }));
  }
});

async function pageFirst(request) {
  try {
    const res = await fetch(request);
    if (res.headers.get("X-CG-Principal")) await store(request, res.clone());
    else if (res.ok && !res.redirected) await forget("");  // a signed-out page (sign-in): wipe
    return res;
  } catch (e) {
    const who = await principal();
    if (who) {
      const cache = await caches.open(PAGE_PREFIX + "-" + who);
      const key = bare(request);
      const hit = (await cache.match(key)) || (await cache.match(key, { ignoreSearch: true }));
      if (hit) return hit;
    }
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
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/files/")) return;
  if (req.mode === "navigate" && url.pathname.startsWith("{{ scope }}")) {
    event.respondWith(pageFirst(req));
  } else if (url.pathname.startsWith("{{ static_url }}")) {
    event.respondWith(assetFirst(req));
  }
});
