// The offline scanner app's service worker: precaches every file of the app (Workbox, vendored:
// never a CDN) and serves them with the network gone. Trust data (keys, status lists, rules)
// never comes from here: sync.js fetches it past this worker and keeps it in IndexedDB.
//
// Updates: `socpass-issuer publish` writes the precache manifest (each file with a revision)
// into this file, so a changed app is a changed sw.js. The browser installs the new worker in
// the background (downloading only the changed files); it takes over at the next start of the
// app, never under a clerk's queue: no skipWaiting() while a page uses the old one (app.js asks
// for it only at a start, before the first scan, and only when it is the only page).
importScripts("vendor/workbox-7.4.1/workbox-sw.js");
// Relative to this file: the modules come from the vendored copy (workbox-sw would otherwise
// fetch them from Google's CDN), and the production builds even on localhost.
workbox.setConfig({ modulePathPrefix: "vendor/workbox-7.4.1/", debug: false });
// Loaded now, while the worker's script is evaluated: importScripts() later, from an event
// handler, is refused once the worker is installed.
workbox.loadModule("workbox-core");
workbox.loadModule("workbox-routing");
workbox.loadModule("workbox-strategies");
workbox.loadModule("workbox-precaching");

const PRECACHE = self.__WB_MANIFEST || [];

// The first visit's page is taken over as soon as the app is cached, so what it loads later (the
// decoder's WebAssembly, above all) comes from the cache instead of being downloaded twice. Only
// pages that no worker controls can be taken: an update never swaps a page's worker (above).
workbox.core.clientsClaim();
workbox.precaching.cleanupOutdatedCaches();
workbox.precaching.precacheAndRoute(PRECACHE, {
  // /scan/?venue=park is /scan/index.html: the venue is read by the page, not a different file.
  ignoreURLParametersMatching: [/^venue$/, /^utm_/, /^fbclid$/],
  directoryIndex: "index.html",
  cleanURLs: false,
});

self.addEventListener("message", (event) => {
  if (!event.data || event.data.type !== "SKIP_WAITING") return;
  // Only when the asking page is the only one: another page may be in the middle of a queue.
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((pages) => {
    if (pages.length <= 1) return self.skipWaiting();
    return undefined;
  }));
});
