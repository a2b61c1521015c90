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
  const signedIn = userId && !shell ? store.signIn(userId) : store.follow().then((who) => {
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
    const bar = document.getElementById("sync-status");
    if (!bar || !(userId || shell)) return;
    const counts = await sync.counts();
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

  // --- the outbox list (Today and /outbox) ---------------------------------------------------
  const STATUS_CLASS = { waiting: "", awaiting_photos: "", sent: "ok", rejected: "late", conflict: "late" };

  async function renderOutbox() {
    const list = document.getElementById("outbox-list");
    if (!list) return;
    const twoDays = Date.now() - 2 * 86400000;
    const records = (await store.all("outbox"))
      .filter((r) => r.status !== "sent" || Date.parse(r.created_at) > twoDays)
      .sort((a, b) => b.created_at.localeCompare(a.created_at));
    list.replaceChildren(...records.map(outboxRow));
    list.closest("section").hidden = records.length === 0;
    markDoneWhileWaiting(records);
  }

  // A check sent offline is done for the person at once: Today (maybe a kept copy) says so
  // until the server, which will say "Done", has it.
  function markDoneWhileWaiting(records) {
    const waiting = new Set(records.filter((r) => r.status === "waiting" || r.status === "awaiting_photos")
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
  });

  async function start() {
    // The forms first: offline, registering the worker waits for the network to fail, and a
    // logout tapped meanwhile must not be posted as a plain form to a network that is not there.
    guardLogout();
    enhanceOutboxForms();
    document.body.addEventListener("htmx:afterSettle", enhanceOutboxForms);
    const registration = await registerWorker().catch(() => null);
    if (shell) {
      await signedIn;
      refresh();  // what this phone holds for the person signed in on it
      addEventListener("online", trySync);
      return;
    }
    if (!userId) {
      // The login page: whatever people before left unsent on this phone keeps going out.
      await signedIn;
      trySync();
      addEventListener("online", trySync);
      return;
    }
    await signedIn;
    sync.channel.postMessage({ type: "signed-in", user: userId });
    if (navigator.storage?.persist) navigator.storage.persist().catch(() => {});
    const urls = document.getElementById("offline-urls");
    if (urls && registration) {
      const wanted = JSON.parse(urls.textContent);
      // A phone that walks rounds without a built-in QR detector keeps the decoder for offline.
      if (urls.dataset.scanner && !("BarcodeDetector" in self)) wanted.push(urls.dataset.scanner);
      // A draft begun on an earlier version of its checklist finishes on that version's page.
      for (const draft of await store.all("drafts").catch(() => [])) if (draft.page) wanted.push(draft.page);
      tellWorker({ type: "warm", user: userId, urls: wanted, revision: urls.dataset.revision ?? "" });
    }
    refresh();
    trySync();
    addEventListener("online", trySync);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) trySync(); });
  }

  start();
})();
