// The service worker. /sw.js prepends BUILD (a hash of the shell), SHELL (its URLs) and how
// long sent records stay on the phone (self.fieldKeepSentDays).
// Pages: network first; what a person needs offline is kept in a cache of their own.
// Assets: from this build's cache, so old and new files never mix.
// Writes never pass through here: pages put them in the outbox (IndexedDB) and sync.js sends them.
/* global BUILD, SHELL */
"use strict";

importScripts(`/static/js/store.js?v=${BUILD}`, `/static/js/sync.js?v=${BUILD}`);

const SHELL_CACHE = `shell-${BUILD}`;
const STATE_CACHE = "state";  // survives builds: the pending-logout mark
const PENDING_LOGOUT = "/__pending-logout";
const PAGE_TIMEOUT_MS = 6000;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // Files carry the build in their URL (?v=), so the copy the page just fetched is the right one
    // and is not fetched twice; pages come straight from the server ("reload"), never an older copy.
    // X-Keep-Offline: like Today's warm fetches, these leave the person's one-time messages and
    // cookie alone (an install that ends after a form's answer would take its "imported" away).
    await cache.addAll(SHELL.map((url) => new Request(url, {
      cache: url.includes("?v=") ? "default" : "reload", credentials: "same-origin",
      headers: { "X-Keep-Offline": "1" } })));
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.type === "skip-waiting") self.skipWaiting();
  else if (message.type === "hand-over") handOver.abort();
  else if (message.type === "warm") event.waitUntil(warm(message.user, message.urls, message.revision));
  else if (message.type === "sync") event.waitUntil(self.fieldSync.syncNow());
  else if (message.type === "logout") {
    event.waitUntil(forget(message.csrf || "", Boolean(message.keep)).then(() => event.ports[0]?.postMessage("done")));
  }
});

// Chrome on Android wakes us for this; an open page does the work, or we do it ourselves.
self.addEventListener("sync", (event) => {
  if (event.tag !== "outbox") return;
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: "window" });
    if (open.length) self.fieldSync.channel.postMessage({ type: "sync-request" });
    else await self.fieldSync.syncNow();
  })());
});

// Web Push: a notice for this phone's person (a ticket given to them…); tapping it opens its page.
self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch { message = { body: event.data?.text() || "" }; }
  const url = message.url || "/today";
  event.waitUntil(Promise.all([
    self.registration.showNotification(message.title || "", {
      body: message.body || "", tag: "fieldcheck", renotify: true, icon: "/static/icons/icon-192.png",
      data: { url } }),
    keepPushedPage(url),
  ]));
});

// The page a notification opens is kept at once, so tapping it later opens it offline too.
async function keepPushedPage(url) {
  const user = await currentUser();
  if (!user || !url.startsWith("/") || url.startsWith("//")) return;
  try {
    await keep(await pagesCache(user), user, url);
  } catch (offline) {
    // Pushed while the phone has a network, but it may drop at once: Today keeps it later.
  }
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || "/today", self.location.origin);
  const url = target.origin === self.location.origin ? target.href : new URL("/today", self.location.origin).href;
  event.waitUntil((async () => {
    for (const client of await self.clients.matchAll({ type: "window" })) {
      if ("navigate" in client) {
        await client.focus();
        return client.navigate(url);
      }
    }
    return self.clients.openWindow(url);
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== location.origin || request.method !== "GET" || url.pathname.startsWith("/api/")) return;
  if (url.pathname.startsWith("/static/")) event.respondWith(asset(request));
  else if (request.mode === "navigate") event.respondWith(page(request));
});

async function asset(request) {
  const cache = await caches.open(SHELL_CACHE);
  const hit = (await cache.match(request)) || (await cache.match(request, { ignoreSearch: true }));
  if (hit) return hit;
  // Not in the shell (the QR decoder): fetched once, then kept with this build's files.
  const response = await fetch(request);
  if (response.ok && new URL(request.url).searchParams.get("v") === BUILD) await cache.put(request, response.clone());
  return response;
}

function pagesCache(user) {
  return caches.open(`pages-${user}`);
}

// The person signed in on this phone now: only their pages are kept (store.js decides).
async function currentUser() {
  try {
    return await self.fieldStore.current();
  } catch (error) {
    return null;
  }
}

async function page(request) {
  await endSessionIfPending();
  try {
    const response = await fetchWithTimeout(request, PAGE_TIMEOUT_MS);
    const owner = response.headers.get("X-Offline-Cache");
    if (response.ok && owner && owner === (await currentUser())) {
      await (await pagesCache(owner)).put(request.url, response.clone());
    }
    return response;
  } catch (offline) {
    const user = await currentUser();
    const kept = user ? await (await pagesCache(user)).match(request.url) : null;
    // The pages the same for everyone (/outbox, /offline) come with this build's files.
    const shared = kept || (await (await caches.open(SHELL_CACHE)).match(request.url, { ignoreSearch: true }));
    return shared || (await caches.match("/offline")) || new Response("offline", { status: 503 });
  }
}

function fetchWithTimeout(request, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  return fetch(request, { signal: controller.signal }).finally(() => clearTimeout(timer));
}

// Keep the pages a person needs offline: their Today list, their checklists, their tickets.
// Each opening of Today asks (at most once a minute for the same list, unless a checklist it
// lists has a new version: `revision`). A kept page is asked for again with its validator, so
// a page that has not changed costs a 304 and no body.
const WARM_EVERY_MS = 60 * 1000;
let lastWarm = { key: "", at: 0 };
let warming = "";  // the list being fetched now: Today opened twice fetches it once
// Aborted when the person takes a new build: a new worker takes over only once this one has
// finished its events, and a warm of 80 pages on a slow network would hold their tap that long.
const handOver = new AbortController();

async function warm(user, urls, revision = "") {
  if (!user || user !== (await currentUser())) return;
  const key = `${user}|${revision}|${urls.join(" ")}`;
  if (key === warming || (key === lastWarm.key && Date.now() - lastWarm.at < WARM_EVERY_MS)) return;
  warming = key;
  try {
    await fetchAndKeep(user, urls, key);
  } finally {
    if (warming === key) warming = "";
  }
}

async function fetchAndKeep(user, urls, key) {
  const cache = await pagesCache(user);
  let kept = 0;
  let unchanged = 0;
  for (const url of urls) {
    if (handOver.signal.aborted) return;  // the new worker fetches them again for its build
    try {
      if (url.startsWith("/static/")) {
        await asset(new Request(url));
        continue;
      }
      const outcome = await keep(cache, user, url, handOver.signal);
      if (outcome === "unchanged") unchanged += 1;
      else if (outcome === "kept") kept += 1;
    } catch (error) {
      if (handOver.signal.aborted) return;
      self.fieldSync.channel.postMessage({ type: "warm-failed", url, message: String(error) });
      return;  // offline half-way: the next opening of Today tries again
    }
  }
  lastWarm = { key, at: Date.now() };
  self.fieldSync.channel.postMessage({ type: "warmed", kept, unchanged });
}

// One page into a person's cache, asked for with its validator: "kept", "unchanged" or "" (not
// theirs to keep, or no longer the one signed in). Throws when offline.
async function keep(cache, user, url, signal = undefined) {
  const held = await cache.match(url);
  const validator = held?.headers.get("ETag");
  // X-Keep-Offline: the page leaves its one-time messages for the page the person opens next.
  const headers = validator ? { "X-Keep-Offline": "1", "If-None-Match": validator } : { "X-Keep-Offline": "1" };
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store", headers, signal });
  if (response.status === 304) return "unchanged";
  if (response.ok && response.headers.get("X-Offline-Cache") === user && user === (await currentUser())) {
    await cache.put(url, response);
    return "kept";
  }
  return "";
}

// Logout: drop every person's pages at once; end the server session now or when back online,
// with the session's form token (logout is a form post like any other) and the person's choice
// to keep their device token for the records still to send.
async function forget(csrf, keep) {
  lastWarm = { key: "", at: 0 };
  for (const name of await caches.keys()) {
    if (name.startsWith("pages-")) await caches.delete(name);
  }
  await (await caches.open(STATE_CACHE)).put(PENDING_LOGOUT, new Response(JSON.stringify({ csrf, keep })));
}

async function endSessionIfPending() {
  const state = await caches.open(STATE_CACHE);
  const pending = await state.match(PENDING_LOGOUT);
  if (!pending) return;
  try {
    const { csrf, keep } = await pending.json();
    const response = await fetchWithTimeout(new Request("/logout", {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: keep ? "keep_sending=1" : "" }), PAGE_TIMEOUT_MS);
    // Any answer but a server error ends it: logged out, or that session is gone already (a
    // refused token means another person has logged in on this phone since: they stay in).
    if (response.status < 500) await state.delete(PENDING_LOGOUT);
  } catch (offline) {
    // Still offline: the cached pages are gone already, so nothing is shown meanwhile.
  }
}
