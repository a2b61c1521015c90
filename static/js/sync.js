// Sending the outbox and pulling changes, as SYNC.md says. No DOM here: the pages and the
// service worker both run it, and it tells every open page what happened on a BroadcastChannel.
"use strict";

(function (global) {
  const store = global.fieldStore;
  const channel = new BroadcastChannel("fieldcheck");
  const BATCH = 50;
  const TIMEOUT_MS = 15000;
  let running = null;
  let rerun = null;

  // Other tabs and the worker hear it through the channel; this page's own listeners too
  // (a channel never delivers a message to the object that posted it).
  function notify(type, detail = {}) {
    const data = { type, ...detail };
    channel.postMessage(data);
    channel.dispatchEvent(new MessageEvent("message", { data }));
  }

  // navigator.onLine lies (captive portals, one bar of signal): every call is its own probe.
  async function request(url, options = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      return await fetch(url, { ...options, signal: controller.signal, cache: "no-store" });
    } finally {
      clearTimeout(timer);
    }
  }

  class AuthLost extends Error {}

  async function token() {
    const saved = await store.meta("token");
    if (saved) return saved;
    // Exchange the logged-in session for a device token (pages only: the worker has no form token).
    const csrf = global.fieldCsrfToken ? global.fieldCsrfToken() : null;
    if (!csrf) throw new AuthLost("no device token");
    const response = await request("/device-token", { method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf } });
    if (!response.ok) throw new AuthLost("could not get a device token");
    const body = await response.json();
    await store.setMeta("token", body.token);
    await store.setMeta("user", body.user);
    return body.token;
  }

  async function api(path, options = {}) {
    const response = await request(path, { ...options,
      headers: { ...(options.headers || {}), Authorization: `Bearer ${await token()}` }, credentials: "omit" });
    if (response.status === 401) {
      await store.setMeta("token", null);
      throw new AuthLost("the device token was refused");
    }
    return response;
  }

  async function pushWaiting() {
    let pushed = 0;
    const waiting = (await store.all("outbox")).filter((r) => r.status === "waiting")
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
    for (let i = 0; i < waiting.length; i += BATCH) {
      const batch = waiting.slice(i, i + BATCH);
      const response = await api("/api/v1/sync/push", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ device_time: new Date().toISOString(),
          mutations: batch.map((r) => ({ id: r.id, type: r.type, payload: r.payload })) }),
      });
      if (!response.ok) throw new Error(`push answered ${response.status}`);
      const { results } = await response.json();
      const byId = new Map(batch.map((r) => [r.id, r]));
      const updated = results.map((result) => {
        const record = byId.get(result.id);
        record.result = result;
        record.sent_at = new Date().toISOString();
        if (result.status === "applied" || result.status === "duplicate") {
          record.status = record.photos.length ? "awaiting_photos" : "sent";
          record.error = null;
        } else {
          record.status = result.status;  // rejected or conflict: the person decides
          record.error = result.error || { code: "conflict", message: "the ticket changed meanwhile" };
        }
        return record;
      });
      await store.putMany("outbox", updated);
      pushed += batch.length;
      notify("outbox");
    }
    return pushed;
  }

  async function uploadPhotos() {
    const records = (await store.all("outbox")).filter((r) => r.status === "awaiting_photos");
    for (const record of records) {
      for (const sha of record.photos) {
        const photo = await store.get("photos", sha);
        if (!photo || photo.uploaded) continue;
        const head = await api(`/api/v1/photos/${sha}`, { method: "HEAD" });
        if (head.status !== 200) {
          const put = await api(`/api/v1/photos/${sha}`, { method: "PUT",
            headers: { "Content-Type": photo.type }, body: photo.data });
          if (!put.ok) throw new Error(`photo upload answered ${put.status}`);
        }
        photo.uploaded = true;
        await store.put("photos", photo);
      }
      const left = await Promise.all(record.photos.map((sha) => store.get("photos", sha)));
      if (left.every((p) => !p || p.uploaded)) {
        record.status = "sent";
        await store.put("outbox", record);
        await Promise.all(record.photos.map((sha) => store.remove("photos", sha)));
        notify("outbox");
      }
    }
  }

  async function pull() {
    let cursor = await store.meta("cursor");
    for (;;) {
      const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
      const response = await api(`/api/v1/sync/pull${query}`);
      if (!response.ok) throw new Error(`pull answered ${response.status}`);
      const body = await response.json();
      await store.putMany("entities", body.changes.map((c) => ({ key: `${c.entity}:${c.id}`, ...c })));
      cursor = body.cursor;
      await store.setMeta("cursor", cursor);
      if (!body.has_more) return body.changes.length;
    }
  }

  // One run at a time; callers share it. A caller that comes while a run is under way gets one
  // more run after it: that run may have read the outbox before the caller's new record.
  function syncNow() {
    if (running) {
      rerun = rerun || running.then(() => { rerun = null; return syncNow(); });
      return rerun;
    }
    running = (async () => {
      notify("sync-start");
      try {
        const pushed = await pushWaiting();
        await uploadPhotos();
        const pulled = await pull();
        await store.setMeta("last_sync", new Date().toISOString());
        notify("sync-done", { pushed, pulled });
        return true;
      } catch (error) {
        notify("sync-failed", { message: String(error.message || error), auth: error instanceof AuthLost });
        return false;
      } finally {
        running = null;
      }
    })();
    return running;
  }

  async function counts() {
    const records = await store.all("outbox");
    const by = (status) => records.filter((r) => r.status === status).length;
    return { waiting: by("waiting") + by("awaiting_photos"), rejected: by("rejected"), conflict: by("conflict"),
      last_sync: await store.meta("last_sync") };
  }

  global.fieldSync = { syncNow, counts, channel };
})(self);
