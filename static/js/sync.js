// Sending outboxes and pulling changes, as SYNC.md says. No DOM here: the pages and the service
// worker both run it, and it tells every open page what happened on a BroadcastChannel.
//
// One run at a time on the whole phone (a Web Lock held across tabs and the worker). A run sends
// every person's records that the phone holds, each with that person's own device token: the
// one signed in now, and those before them on a shared phone. Evidence first: a record's photos
// are uploaded before the record itself is pushed, so it never lands without them while the
// phone still holds them.
//
// A person whose token the server refuses (password reset, phone revoked) is "lapsed": nothing
// of theirs is tried again until they sign in anew, and every page says so (app.js). The phone
// keeps no copy of the server's data: it pulls only to learn that something changed for its
// person, so the pages it keeps for them are fetched again.
"use strict";

(function (global) {
  const store = global.fieldStore;
  const channel = new BroadcastChannel("fieldcheck");
  const BATCH = 50;
  const TIMEOUT_MS = 15000;
  const PUSHABLE = ["waiting", "awaiting_photos"];

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

  // The page's own person gets a token bound to this web session (asked once per session,
  // keeping the token the phone already holds); anyone else's records go with the token the
  // phone holds for them, or wait until they log in here again.
  async function tokenOf(data, own) {
    const saved = await data.meta("token");
    const session = own ? global.fieldSessionTag?.() : null;
    if (!session || (saved && (await data.meta("session")) === session)) {
      if (!saved) throw new AuthLost("no device token");
      return saved;
    }
    const response = await request("/device-token", {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "X-CSRFToken": global.fieldCsrfToken(), ...(saved ? { Authorization: `Bearer ${saved}` } : {}) },
    });
    if (!response.ok) throw new AuthLost("could not get a device token");
    const body = await response.json();
    await data.setMeta("token", body.token);
    await data.setMeta("session", body.session);
    await store.unlapse(data.userId);
    return body.token;
  }

  // A refused token is dropped; the page's own person asks their session for a new one at once.
  function client(data, own) {
    return async (path, options = {}) => {
      const send = async () => request(path, { ...options, credentials: "omit",
        headers: { ...(options.headers || {}), Authorization: `Bearer ${await tokenOf(data, own)}` } });
      let response = await send();
      if (response.status === 401) {
        await data.setMeta("token", null);
        if (own) response = await send();
        if (response.status === 401) throw new AuthLost("the device token was refused");
      }
      return response;
    };
  }

  // Evidence first: every photo of a record not yet sent goes up before the record.
  async function sendPhotos(data, api) {
    const records = (await data.records(...PUSHABLE)).filter((r) => r.photos.length);
    for (const record of records) {
      let arrived = 0;
      for (const sha of record.photos) {
        const photo = await data.get("photos", sha);
        if (photo && !photo.uploaded && !photo.refused) {
          const head = await api(`/api/v1/photos/${sha}`, { method: "HEAD" });
          if (head.status === 200) {
            photo.uploaded = true;
          } else {
            const put = await api(`/api/v1/photos/${sha}`, { method: "PUT",
              headers: { "Content-Type": photo.type }, body: photo.data });
            if (put.ok) photo.uploaded = true;
            // The server will never take these bytes (not an image, too large): the record goes
            // without this photo rather than never; the row says so.
            else if (put.status >= 400 && put.status < 500 && put.status !== 429) photo.refused = put.status;
            else throw new Error(`photo upload answered ${put.status}`);
          }
          await data.put("photos", photo);
        }
        if (!photo || photo.uploaded) arrived += 1;
      }
      if (record.photos_in !== arrived) {
        record.photos_in = arrived;
        await data.put("outbox", record);
        notify("outbox");
      }
    }
  }

  const allPhotosIn = (record) => (record.photos_in || 0) >= record.photos.length;

  async function pushWaiting(data, api) {
    let pushed = 0;
    const waiting = (await data.records("waiting")).sort((a, b) => a.created_at.localeCompare(b.created_at));
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
          record.status = allPhotosIn(record) ? "sent" : "awaiting_photos";
          record.error = null;
        } else {
          record.status = result.status;  // rejected or conflict: the person decides
          record.error = result.error || { code: "conflict", message: "the ticket changed meanwhile" };
        }
        return record;
      });
      await data.putMany("outbox", updated);
      pushed += batch.length;
      notify("outbox");
    }
    return pushed;
  }

  // Records whose photos have all arrived are done.
  async function settle(data) {
    for (const record of (await data.records("awaiting_photos")).filter(allPhotosIn)) {
      record.status = "sent";
      await data.put("outbox", record);
      notify("outbox");
    }
  }

  // The checklists this person has under way, for whoever is about to change one (an extension
  // of SYNC.md: PUT /api/v1/sync/drafts). Sent again only when the list changed.
  async function reportDrafts(data, api) {
    const drafts = (await data.all("drafts")).filter((d) => d.template_version && d.inspection_id).map((d) => ({
      inspection_id: d.inspection_id, template_id: d.template_id, template_version: d.template_version,
      updated_at: d.updated_at || new Date().toISOString(),
      answered: Object.entries(d.answers || {}).filter(([, a]) => a.value !== null && a.value !== undefined)
        .map(([id]) => id),
    }));
    const body = JSON.stringify({ drafts });
    if (body === (await data.meta("drafts_reported"))) return;
    const response = await api("/api/v1/sync/drafts", { method: "PUT",
      headers: { "Content-Type": "application/json" }, body });
    if (response.ok) await data.setMeta("drafts_reported", body);
  }

  // Web Push (an extension of SYNC.md): once the person has allowed notifications, this browser's
  // subscription goes with their device token, again whenever either changes. A phone that
  // changes hands moves it to whoever uses it now. Never in the way of the sync itself.
  async function subscribePush(data, api) {
    try {
      const registration = global.registration || (await navigator.serviceWorker?.getRegistration());
      if (!registration?.pushManager || global.Notification?.permission !== "granted") return;
      let subscription = await registration.pushManager.getSubscription();
      if (!subscription) {
        const key = await api("/api/v1/push/key");
        if (!key.ok) return;
        subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: (await key.json()).public_key });
      }
      const reported = `${subscription.endpoint} ${await data.meta("token")}`;
      if (reported === (await data.meta("push_reported"))) return;
      const response = await api("/api/v1/push/subscription", { method: "PUT",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(subscription.toJSON()) });
      if (response.ok || response.status === 403) await data.setMeta("push_reported", reported);
    } catch (error) {
      if (error instanceof AuthLost) throw error;
      console.warn("push subscription:", error);
    }
  }

  // How many changes reached this person since the last run. A first sync, or a reset (their
  // sites or role changed), starts from now (`from=now`, an extension of SYNC.md): the phone
  // keeps no copy, so the history is nothing to it.
  async function pull(data, api) {
    let cursor = await data.meta("cursor");
    let changed = 0;
    for (;;) {
      const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "?from=now";
      const response = await api(`/api/v1/sync/pull${query}`);
      if (!response.ok) throw new Error(`pull answered ${response.status}`);
      const body = await response.json();
      changed += body.changes.length;
      cursor = body.reset ? null : body.cursor;
      await data.setMeta("cursor", cursor);
      if (!cursor) continue;
      if (!body.has_more) return changed;
    }
  }

  // Someone who logged out and kept their records sending: once the server has them all, the
  // phone gives their token back; once nothing of theirs is left, their storage goes too.
  async function release(data) {
    const { records, drafts } = await data.unsent();
    if (records) return;
    const token = await data.meta("token");
    if (token) {
      const response = await request("/api/v1/auth/token", { method: "DELETE", credentials: "omit",
        headers: { Authorization: `Bearer ${token}` } });
      if (response.status !== 204 && response.status !== 401) return;
      await data.setMeta("token", null);
    }
    if (!drafts) await store.discard(data.userId);
  }

  // A lapsed person waits for a session other than the one the server ended (their next sign-in).
  const waitsForSignIn = (row, own) => row.lapsed && !(own && global.fieldSessionTag?.() &&
    global.fieldSessionTag() !== row.lapsed.session);

  async function syncPerson(row, pageUser) {
    const own = row.user_id === pageUser;
    const data = store.person(row.user_id);
    const current = own || row.signed_in;
    try {
      if (waitsForSignIn(row, own)) return { pushed: 0, pulled: 0 };
      if (!current && !(await data.unsent()).records && !row.left) return { pushed: 0, pulled: 0 };
      const api = client(data, own);
      await sendPhotos(data, api);
      const pushed = await pushWaiting(data, api);
      await sendPhotos(data, api);  // a record pushed before its photo was on the phone
      await settle(data);
      if (current) await reportDrafts(data, api);
      if (own) await subscribePush(data, api);
      const pulled = current ? await pull(data, api) : 0;
      await data.setMeta("last_sync", new Date().toISOString());
      if (row.left) await release(data);
      return { pushed, pulled };
    } finally {
      // Whatever the network did: what the phone no longer needs goes (store.js, prune), once an
      // hour, so that a run touches only what it sends.
      await tidy(data).catch(() => {});
    }
  }

  const TIDY_EVERY_MS = 3600 * 1000;

  async function tidy(data) {
    const last = Date.parse((await data.meta("pruned_at")) || "") || 0;
    if (Math.abs(Date.now() - last) < TIDY_EVERY_MS) return;
    if (await data.prune(global.fieldKeepSentDays ?? 7)) notify("outbox");
    await data.setMeta("pruned_at", new Date().toISOString());
  }

  // Callers queue behind a run under way (in any tab or the worker), so a record written while
  // it ran is read by the next.
  function syncNow() {
    const pageUser = global.fieldPageUser || null;
    return navigator.locks.request("fieldcheck-sync", async () => {
      notify("sync-start");
      let pushed = 0;
      let pulled = 0;
      let failure = null;
      for (const row of await store.people()) {
        try {
          const done = await syncPerson(row, pageUser);
          pushed += done.pushed;
          pulled += done.pulled;
        } catch (error) {
          if (error instanceof store.Gone) continue;  // discarded meanwhile by its person
          if (error instanceof AuthLost) {
            // Their token and session are gone (revoked, password changed): their work waits for them.
            const data = store.person(row.user_id);
            const session = row.user_id === pageUser ? global.fieldSessionTag?.() : await data.meta("session");
            await store.lapse(row.user_id, session);
            continue;
          }
          failure ||= error;
        }
      }
      if (failure) {
        notify("sync-failed", { message: String(failure.message || failure) });
        return false;
      }
      notify("sync-done", { pushed, pulled });
      return true;
    });
  }

  // The page's person's counts (through the index), how many records of others still wait
  // (never their content), and whose sign-in lapsed with work waiting: {user_id, name, records}.
  async function counts() {
    const tally = await store.tally().catch((error) => {
      if (error instanceof store.Gone) return {};  // a shell page with nobody signed in
      throw error;
    });
    const by = (status) => tally[status] || 0;
    let others = 0;
    const lapsed = [];
    for (const row of await store.people()) {
      const { records } = await store.person(row.user_id).unsent().catch(() => ({ records: 0 }));
      if (row.lapsed && records) lapsed.push({ user_id: row.user_id, name: row.name || "", records });
      if (row.user_id !== global.fieldPageUser) others += records;
    }
    const held = Object.values(tally).reduce((sum, n) => sum + n, 0);
    return { waiting: by("waiting") + by("awaiting_photos"), rejected: by("rejected"), conflict: by("conflict"),
      sent: by("sent"), others, lapsed, last_sync: held ? await store.meta("last_sync") : null };
  }

  global.fieldSync = { syncNow, counts, channel };
})(self);
