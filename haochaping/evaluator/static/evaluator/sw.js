/* Service worker of the 窗口评价器: keeps the kiosk shell (page, script, style) so that the tablet reopens
 * the kiosk without network. Ratings are queued by the page itself (IndexedDB), not here; API calls and all
 * non-GET requests pass straight through. */
"use strict";
var CACHE = "hcp-evaluator-shell-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches["delete"](k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var req = event.request;
  var url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) { return; }
  var shell = url.pathname === "/evaluator/" || url.pathname.indexOf("/static/evaluator/") === 0;
  if (!shell) { return; }
  // Network first, so a deployment's new page reaches the tablet; the cached copy only when offline.
  event.respondWith(fetch(req).then(function (res) {
    if (res.ok) {
      var copy = res.clone();
      caches.open(CACHE).then(function (c) { c.put(req, copy); });
    }
    return res;
  })["catch"](function () {
    return caches.match(req).then(function (hit) { return hit || Response.error(); });
  }));
});
