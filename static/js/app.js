// Page glue: the service worker, the sync status on every page, the outbox list, logout.
// The data work lives in store.js and sync.js; this file only listens and renders.
"use strict";

(function () {
  const store = self.fieldStore;
  const sync = self.fieldSync;
  const body = document.body;
  const userId = body.dataset.userId || null;
  const shell = "shell" in body.dataset;  // /offline and /outbox: the same for everyone, kept offline
  const messages = JSON.parse(document.getElementById("js-messages").textContent);
  // At once, before any other script on the page touches the phone's storage.
  // A page the same for everyone (/outbox) is the page of whoever is signed in on the phone: their
  // records are theirs there, not "another colleague's".
  self.fieldPageUser = userId && !shell ? userId : null;
  self.fieldKeepSentDays = Number(body.dataset.keepSentDays) || 7;
  const signedIn = userId && !shell ? store.signIn(userId, body.dataset.userName) : store.follow().then((who) => {
    if (shell) self.fieldPageUser = who;
    return who;
  });
  signedIn.catch(() => {});  // handled where start() awaits it
  self.fieldSessionTag = () => body.dataset.session || null;
  let retryDelay = 5000;
  let retryTimer = null;

  self.fieldCsrfToken = () => {
    const headers = body.getAttribute("hx-headers");
    return headers ? JSON.parse(headers)["X-CSRFToken"] : null;
  };
  self.fieldMessages = messages;

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
  }

  function timeOf(iso) {
    return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "—";
  }

  function sizeOf(bytes) {
    if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
    return `${(bytes / 1e6).toFixed(1)} MB`;
  }

  const DAY_MS = 86400000;

  // --- the service worker ------------------------------------------------------------------
  async function registerWorker() {
    if (!("serviceWorker" in navigator)) return null;
    const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    const offerUpdate = () => {
      if (registration.waiting && navigator.serviceWorker.controller) showUpdate(registration.waiting);
    };
    offerUpdate();
    registration.addEventListener("updatefound", () => {
      const incoming = registration.installing;
      incoming && incoming.addEventListener("statechange", offerUpdate);
    });
    return registration;
  }

  // An update waits until the person says so: then the new worker takes over and the page
  // reloads once, so it runs on the new build's files only. (The first worker's claim does not reload.)
  function showUpdate(waiting) {
    const banner = document.getElementById("update-ready");
    banner.hidden = false;
    banner.querySelector("button").onclick = () => {
      navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
      navigator.serviceWorker.controller?.postMessage({ type: "hand-over" });  // stop its warm: sw.js
      waiting.postMessage({ type: "skip-waiting" });
    };
  }

  // The active worker, once it is active; null where service workers are off (there, ready
  // would never settle).
  async function activeWorker() {
    const registration = await navigator.serviceWorker?.getRegistration();
    return registration ? (await navigator.serviceWorker.ready).active : null;
  }

  async function tellWorker(message) {
    (await activeWorker())?.postMessage(message);
  }

  // --- sync status on every page -------------------------------------------------------------
  async function renderStatus() {
    const counts = await sync.counts();
    renderLapsed(counts.lapsed);
    const bar = document.getElementById("sync-status");
    if (!bar || !(userId || shell)) return;
    const parts = [];
    if (counts.waiting) parts.push(format(messages.waiting, { n: counts.waiting }));
    parts.push(format(messages.last_sync, { time: timeOf(counts.last_sync) }));
    const trouble = counts.rejected + counts.conflict;
    bar.querySelector("[data-status-text]").textContent = parts.join(" · ");
    const link = bar.querySelector("[data-status-problems]");
    link.hidden = trouble === 0;
    link.textContent = format(messages.problems, { n: trouble });
    bar.dataset.waiting = String(counts.waiting);
    const others = bar.querySelector("[data-status-others]");
    others.hidden = counts.others === 0;
    others.textContent = format(messages.others_waiting, { n: counts.others });
    bar.dataset.others = String(counts.others);
    bar.hidden = false;
    if (await self.fieldPhotos.storageShort()) bar.querySelector("[data-status-storage]").hidden = false;
  }

  // Whose sign-in the server ended while their work waits: the page's person by "you", others
  // by name and count only. Every page says it (the login page too), from the phone's storage,
  // so it holds through a reload, offline, and a browser restart.
  function renderLapsed(lapsed) {
    const box = document.getElementById("signin-lapsed");
    if (!box) return;
    const mine = lapsed.some((p) => p.user_id === self.fieldPageUser);
    box.querySelector("[data-lapsed-list]").replaceChildren(...lapsed.map((p) => {
      const line = document.createElement("li");
      line.textContent = p.user_id === self.fieldPageUser ? format(messages.lapsed_own, { n: p.records })
        : format(messages.lapsed_other, { name: p.name, n: p.records });
      return line;
    }));
    const login = box.querySelector("[data-lapsed-login]");
    if (login) login.hidden = !mine;
    box.hidden = lapsed.length === 0;
  }

  // --- the outbox list (Today and /outbox) ---------------------------------------------------
  const STATUS_CLASS = { waiting: "", awaiting_photos: "", sent: "ok", rejected: "late", conflict: "late" };
  const UNSENT = ["waiting", "awaiting_photos", "rejected", "conflict"];

  // Everything still to send, and the newest sent: on Today the last two days' few, on /outbox
  // a screenful of all the phone keeps (the retention window), the rest when asked for.
  const SENT_SHOWN = { today: 10, outbox: 15 };  // a screenful each
  let everySent = false;

  async function renderOutbox() {
    const list = document.getElementById("outbox-list");
    if (!list) return;
    const since = shell ? 0 : Date.now() - 2 * DAY_MS;
    const [unsent, sent] = await Promise.all([store.records(...UNSENT),
      store.sentSince(since, everySent ? Infinity : SENT_SHOWN[shell ? "outbox" : "today"])]);
    const records = [...unsent, ...sent.rows].sort((a, b) => b.created_at.localeCompare(a.created_at));
    list.replaceChildren(...records.map(outboxRow));
    if (!shell) list.closest("section").hidden = records.length === 0;
    const more = document.getElementById("outbox-more");
    if (more) more.hidden = sent.rows.length >= sent.total;
    markDoneWhileWaiting(unsent);
    await renderHeld(unsent);
  }

  document.getElementById("outbox-more")?.addEventListener("click", () => {
    everySent = true;
    renderOutbox();
  });

  // /outbox: what the phone holds for this person, and the room left on it.
  async function renderHeld(unsent) {
    const held = document.getElementById("outbox-held");
    if (!held) return;
    const lines = [format(messages.held, {
      waiting: unsent.filter((r) => r.status === "waiting" || r.status === "awaiting_photos").length,
      sent: (await store.sentSince(Date.now() - 7 * DAY_MS, 0)).total,
      size: sizeOf(await store.photoBytes()),
    })];
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    if (estimate?.quota) lines.push(format(messages.storage_left, { free: sizeOf(estimate.quota - estimate.usage) }));
    held.textContent = lines.join(" ");
    held.hidden = false;
  }

  // A check sent offline is done for the person at once: Today (maybe a kept copy) says so
  // until the server, which will say "Done", has it.
  function markDoneWhileWaiting(unsent) {
    const waiting = new Set(unsent.filter((r) => r.status === "waiting" || r.status === "awaiting_photos")
      .map((r) => String(r.payload?.assignment_id ?? "")));
    for (const item of document.querySelectorAll("li[data-assignment]")) {
      if (!waiting.has(item.dataset.assignment)) continue;
      const badge = item.querySelector(".badge");
      if (!badge || badge.classList.contains("ok")) continue;
      badge.className = "badge ok";
      badge.dataset.doneWaiting = "";
      badge.textContent = messages.done_waiting;
      item.querySelector(".row")?.classList.add("done");
    }
  }

  function outboxRow(record) {
    const row = document.createElement("li");
    row.className = "outbox-row";
    row.dataset.status = record.status;
    row.dataset.id = record.id;
    const main = document.createElement("span");
    main.className = "row-main";
    const title = document.createElement("strong");
    title.textContent = record.title;
    const place = document.createElement("span");
    place.className = "muted";
    const numbers = record.result?.entity?.tickets?.join(" ") || record.result?.entity?.number || "";
    // A receipt per photo: what the server already holds of this record's evidence.
    const arrived = record.status === "sent" ? record.photos.length : record.photos_in || 0;
    const receipt = record.photos.length ? format(messages.photos_in, { in: arrived, all: record.photos.length }) : "";
    place.textContent = [record.place, timeOf(record.created_at), numbers, receipt].filter(Boolean).join(" · ");
    row.dataset.photosIn = String(arrived);
    main.append(title, place);
    const badge = document.createElement("span");
    badge.className = `badge ${STATUS_CLASS[record.status] || ""}`;
    badge.textContent = messages.status[record.status];
    row.append(main, badge);
    if (record.status === "rejected" || record.status === "conflict") {
      const reason = document.createElement("p");
      reason.className = "error";
      reason.textContent = record.error?.message || "";
      const actions = document.createElement("div");
      actions.className = "row-inline";
      if (record.edit_url) {
        const edit = document.createElement("a");
        edit.className = "button small";
        const page = new URL(record.edit_url, location.origin);  // a scan's page keeps its scan in the fragment
        page.searchParams.set("draft", record.id);
        edit.href = page.pathname + page.search + page.hash;
        edit.textContent = messages.fix;
        actions.append(edit);
      }
      const discard = document.createElement("button");
      discard.type = "button";
      discard.className = "button small";
      discard.textContent = messages.discard;
      discard.onclick = async () => {
        if (!confirm(messages.discard_confirm)) return;
        await store.remove("outbox", record.id);
        refresh();
      };
      actions.append(discard);
      row.append(reason, actions);
    }
    return row;
  }

  let leaving = false;  // set at logout: nothing more is read from storage being wiped

  function refresh() {
    if (leaving) return;
    Promise.all([renderStatus(), renderOutbox()]).catch((error) => console.warn("refresh failed", error));
  }

  // --- sending: on open, on reconnect, on Background Sync, and on a timer with backoff ------
  async function trySync() {
    clearTimeout(retryTimer);
    if (leaving) return;
    let ok, counts;
    try {
      ok = await sync.syncNow();
      counts = await sync.counts();
    } catch (error) {
      if (leaving) return;  // logging out: the browser is wiping the storage under this run
      throw error;
    }
    if (ok) retryDelay = 5000;
    else retryDelay = Math.min(retryDelay * 2, 5 * 60 * 1000);
    if (!ok || counts.waiting) retryTimer = setTimeout(trySync, ok ? 60000 : retryDelay);
    refresh();
  }

  async function requestBackgroundSync() {
    const registration = (await activeWorker()) && (await navigator.serviceWorker.ready);
    // Chrome on Android has Background Sync; iOS Safari does not, and the timer covers it.
    if (registration?.sync) await registration.sync.register("outbox").catch(() => {});
  }

  self.fieldApp = {
    // A record was just written: the worker sends it (its run outlives this page, which is
    // about to navigate away; a push cut off by the navigation would be sent twice).
    async queued() {
      refresh();
      await requestBackgroundSync();
      const worker = navigator.serviceWorker?.controller;
      if (worker) worker.postMessage({ type: "sync" });
      else trySync();
    },
    refresh,
    queueingOnce,
  };

  // A form that queues a change queues it once: a second tap while the first is being written
  // does nothing, its buttons greyed until then (a double tap on "comment" posted it twice).
  function queueingOnce(form, queue) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.queueing) return;
      form.dataset.queueing = "true";
      const buttons = [...form.querySelectorAll("button")];
      for (const button of buttons) button.disabled = true;
      try {
        await queue(event);
      } catch (error) {
        if (!store.full(error)) throw error;  // no room: nothing was queued, the page says so
      } finally {
        delete form.dataset.queueing;
        for (const button of buttons) button.disabled = false;
      }
    });
  }

  // --- ticket changes go through the outbox too (a cached page's form token may have expired,
  // and the network may be gone): the form's fields become the mutation's payload.
  function enhanceOutboxForms() {
    for (const form of document.querySelectorAll("form[data-outbox]:not([data-bound])")) {
      form.dataset.bound = "true";
      queueingOnce(form, async () => {
        const payload = {};
        const photos = [];
        for (const [name, value] of new FormData(form)) {
          if (name === "csrf_token" || (name === "note" && !value.trim())) continue;
          if (value instanceof File) {  // an "after" photo: kept on the phone, uploaded by the sync loop
            if (value.size) photos.push(await self.fieldPhotos.keep(value));
            continue;
          }
          payload[name] = name === "base_version" ? Number(value) : value.trim();
        }
        if (photos.length) payload.photos = photos;
        if (form.dataset.outbox === "ticket.comment" && !payload.text) return;
        await store.put("outbox", {
          id: crypto.randomUUID(), type: form.dataset.outbox, payload, photos, status: "waiting",
          title: form.dataset.title, place: messages.ticket_change, created_at: new Date().toISOString(), error: null,
        });
        form.reset();
        await self.fieldApp.queued();
      });
    }
  }

  // --- logout: nothing of this person is shown to the next one; nothing unsent is lost -------
  // Nothing waiting: this person's storage goes and the server revokes the token. Something
  // waiting: they choose to keep it sending (their token stays until the server has it all)
  // or to discard it.
  function guardLogout() {
    const form = document.querySelector("form[data-logout]");
    if (!form) return;
    const dialog = document.getElementById("logout-unsent");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const unsent = await store.unsent().catch(() => ({ records: 0, drafts: 0 }));
      let keep = false;
      if (unsent.records || unsent.drafts) {
        dialog.querySelector("[data-unsent-text]").textContent = format(messages.unsent_on_logout, unsent);
        dialog.returnValue = "";
        dialog.showModal();
        const choice = await new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue),
          { once: true }));
        if (choice === "discard" && !confirm(messages.discard_everything_confirm)) return;
        if (choice !== "keep" && choice !== "discard") return;
        keep = choice === "keep";
      }
      leaving = true;
      clearTimeout(retryTimer);
      if (keep) await store.signOut(userId);
      else await store.discard(userId);
      sync.channel.postMessage({ type: "signed-out", user: userId });
      form.elements.keep_sending.value = keep ? "1" : "";
      // The worker ends the session: on the way to the login page, or when the network is back
      // (the form's token goes with it). Without a worker the page posts it itself.
      const worker = await activeWorker();
      if (worker) {
        await new Promise((resolve) => {
          const reply = new MessageChannel();
          reply.port1.onmessage = resolve;
          worker.postMessage({ type: "logout", csrf: form.elements.csrf_token.value, keep }, [reply.port2]);
        });
      } else {
        await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
          .catch(() => {});
      }
      location.replace("/login");
    });
  }

  sync.channel.addEventListener("message", (event) => {
    // Another tab logged this person out, or signed someone else in: this tab shows nothing more.
    const gone = (event.data.type === "signed-out" && event.data.user === userId) ||
      (event.data.type === "signed-in" && userId && event.data.user !== userId);
    if (gone && !shell) {
      leaving = true;
      clearTimeout(retryTimer);
      location.replace("/today");
      return;
    }
    if (event.data.type === "sync-request") trySync();
    else refresh();
    // What was just sent changes this page (today's list, a ticket's state): fetch it anew.
    if (event.data.type === "sync-done" && event.data.pushed && self.htmx) {
      const part = document.getElementById("due-lists") || document.getElementById("ticket");
      if (part) htmx.ajax("GET", location.pathname, { target: `#${part.id}`, select: `#${part.id}`, swap: "outerHTML" });
    }
    // Something changed for this person on the server (a ticket assigned to them, a check due):
    // the pages kept for offline are fetched again (by the worker, at most once a minute).
    if (event.data.type === "sync-done" && event.data.pulled) keepPagesOffline();
  });

  // A write the phone had no room for: the person is told (store.js aborted it whole).
  addEventListener("storage-full", () => {
    const banner = document.getElementById("storage-full");
    if (banner) banner.hidden = false;
  });

  // The pages this person needs offline (Today lists them), fetched by the worker.
  async function keepPagesOffline() {
    const urls = document.getElementById("offline-urls");
    if (!urls || !userId || shell) return;
    const wanted = JSON.parse(urls.textContent);
    // A phone that walks rounds without a built-in QR detector keeps the decoder for offline.
    if (urls.dataset.scanner && !("BarcodeDetector" in self)) wanted.push(urls.dataset.scanner);
    // A draft begun on an earlier version of its checklist finishes on that version's page.
    for (const draft of await store.all("drafts").catch(() => [])) if (draft.page) wanted.push(draft.page);
    tellWorker({ type: "warm", user: userId, urls: wanted, revision: urls.dataset.revision ?? "" });
  }

  // Notifications are asked for by a tap (browsers refuse a page that asks on its own); once
  // allowed, the next sync subscribes this phone (sync.js, subscribePush).
  function offerPush() {
    const box = document.getElementById("push-offer");
    if (!box || !("PushManager" in self) || !self.Notification || Notification.permission !== "default") return;
    if (localStorage.getItem("push-offer-later")) return;
    box.hidden = false;
    box.querySelector("[data-push-later]").addEventListener("click", () => {
      localStorage.setItem("push-offer-later", "1");
      box.hidden = true;
    });
    box.querySelector("[data-push-allow]").addEventListener("click", async () => {
      box.hidden = true;
      if ((await Notification.requestPermission()) === "granted") trySync();
    });
  }

  async function start() {
    // The forms first: offline, registering the worker waits for the network to fail, and a
    // logout tapped meanwhile must not be posted as a plain form to a network that is not there.
    guardLogout();
    enhanceOutboxForms();
    document.body.addEventListener("htmx:afterSettle", enhanceOutboxForms);
    // The network coming back sends what waits; listened for before the worker is registered,
    // which offline waits for the network (a page opened offline missed the moment it returned).
    addEventListener("online", () => signedIn.then(trySync, () => {}));
    // Kept storage, asked for as early as the phone is used (the login page too): a browser
    // short of space may otherwise clear an origin holding unsent work.
    if (navigator.storage?.persist) navigator.storage.persist().catch(() => {});
    const registration = await registerWorker().catch(() => null);
    await signedIn;
    if (shell) {
      refresh();  // what this phone holds for the person signed in on it
      return;
    }
    if (!userId) {
      // The login page: whatever people before left unsent on this phone keeps going out.
      trySync();
      return;
    }
    sync.channel.postMessage({ type: "signed-in", user: userId });
    offerPush();
    if (registration) await keepPagesOffline();
    refresh();
    trySync();
    document.addEventListener("visibilitychange", () => { if (!document.hidden) trySync(); });
  }

  start();
})();
