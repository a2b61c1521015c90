// The checklist page: the draft survives a reload, a closed tab and a restart; photos are
// downscaled and kept on the phone; "send" writes to the outbox first, online or not.
// A draft finishes on the version it was started on: when the page has moved on to a newer
// version, the draft's own version is opened instead. In a builder's preview (data-preview)
// the same page is filled in, and nothing is kept or sent.
"use strict";

(function () {
  const form = document.querySelector("form[data-checklist]");
  if (!form) return;
  const store = self.fieldStore;
  const photos = self.fieldPhotos;
  const info = JSON.parse(document.getElementById("checklist-data").textContent);
  const messages = info.messages;
  const preview = form.hasAttribute("data-preview");
  const english = document.documentElement.lang === "en";  // the page's language, for the labels it writes
  // Instructions are read, never answered (SYNC.md v1.1).
  const items = info.sections.flatMap((s) => s.items).filter((i) => i.type !== "instruction");
  const conditional = info.sections.flatMap((s) => s.items).filter((i) => i.show_if);
  const params = new URLSearchParams(location.search);
  // A patrol check-in arrives with its scan in the fragment (the cached page's URL stays the same).
  const scanParams = new URLSearchParams(location.hash.slice(1));
  const scan = scanParams.get("route") ? { route_id: Number(scanParams.get("route")), code: scanParams.get("code"),
    scanned_at: scanParams.get("at") } : null;
  if (scan) info.draft_key += `|scan|${scan.scanned_at}`;
  let draft;

  function fieldset(itemId) {
    return form.querySelector(`fieldset[data-item="${CSS.escape(itemId)}"]`);
  }

  function newDraft() {
    return { key: info.draft_key, inspection_id: crypto.randomUUID(), started_at: new Date().toISOString(),
      answers: {}, template_id: info.template_id, template_version: info.template_version,
      location_id: info.location_id, page: pageOf(info.template_version) };
  }

  // This page for a given version of the checklist (the server keeps every version).
  function pageOf(version) {
    const url = new URL(location.href);
    if (!scan) url.hash = "";  // a scan's page keeps its scan
    url.searchParams.delete("draft");
    url.searchParams.set("version", version);
    return url.pathname + url.search + url.hash;
  }

  function pageWith(page, fixing) {
    const url = new URL(page, location.origin);
    url.searchParams.set("draft", fixing);
    return url.pathname + url.search + url.hash;
  }

  async function loadDraft() {
    if (preview) return newDraft();
    const fixing = params.get("draft");
    if (fixing) {
      const record = await store.get("outbox", fixing);
      if (record) {
        const answers = {};
        for (const a of record.payload.answers) answers[a.item_id] = { value: a.value, note: a.note || "", photos: a.photos };
        // A scan being fixed keeps its scan id, as an inspection keeps its own.
        return { key: info.draft_key, outbox_id: record.id,
          inspection_id: record.payload.inspection_id || record.payload.scan_id,
          template_version: record.payload.template_version || info.template_version,
          page: pageWith(pageOf(record.payload.template_version || info.template_version), fixing),
          started_at: record.payload.started_at, answers, geo: record.payload.geo,
          geo_status: record.payload.geo_status };
      }
    }
    return (await store.get("drafts", info.draft_key)) || newDraft();
  }

  function answerOf(itemId) {
    draft.answers[itemId] ||= { value: null, note: "", photos: [] };
    return draft.answers[itemId];
  }

  // Saved as the person works. Once "send" has begun nothing is saved any more, and the store
  // drops a late save of a draft already sent (a check of the same place later starts anew).
  let saving = null;
  let sending = false;
  function saveSoon() {
    clearTimeout(saving);
    if (sending || preview) return;
    saving = setTimeout(() => store.saveDraft(draft).catch((error) => {
      // Discarded by the person: nothing more is kept. No room: the last save stays, the page said so.
      if (!(error instanceof store.Gone) && !store.full(error)) throw error;
    }), 150);
  }

  // Where the check was done, if the person lets the phone say: evidence, never a condition.
  function locate() {
    if (preview || draft.geo || draft.geo_status === "denied") return;
    if (!navigator.geolocation) {
      draft.geo_status = "unavailable";
      return;
    }
    navigator.geolocation.getCurrentPosition((position) => {
      const { latitude, longitude, accuracy } = position.coords;
      draft.geo = { lat: latitude, lon: longitude, accuracy_m: Math.round(accuracy) };
      delete draft.geo_status;
      saveSoon();
    }, (error) => {
      draft.geo_status = error.code === error.PERMISSION_DENIED ? "denied" : "unavailable";
      saveSoon();
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  function readValue(item) {
    const box = fieldset(item.id);
    if (item.type === "text") return box.querySelector("textarea[name^=answer-]").value.trim() || null;
    if (item.type === "number") {
      const raw = box.querySelector("input[name^=answer-]").value.trim().replace(",", ".");
      if (!raw) return null;
      return Number.isFinite(Number(raw)) ? Number(raw) : raw;
    }
    if (item.type === "signature" || item.type === "photo") return answerOf(item.id).value;
    const checked = box.querySelector("input[type=radio]:checked");
    return checked ? checked.value : null;
  }

  async function addThumb(itemId, sha) {
    const box = fieldset(itemId).querySelector(".thumbs");
    if (!box || box.querySelector(`[data-sha="${sha}"]`)) return;
    const img = document.createElement("img");
    img.dataset.sha = sha;
    img.width = 72;
    img.height = 72;
    img.alt = "";
    img.src = (await photos.objectUrl(sha)) || `/photos/${sha}/thumb`;
    box.append(img);
  }

  function restore() {
    for (const item of items) {
      const answer = draft.answers[item.id];
      if (!answer) continue;
      const box = fieldset(item.id);
      if (["pass_fail", "yes_no", "choice"].includes(item.type)) {
        for (const radio of box.querySelectorAll("input[type=radio]")) radio.checked = radio.value === answer.value;
      } else if (item.type === "number" || item.type === "text") {
        box.querySelector("[name^=answer-]").value = answer.value ?? "";
      }
      const note = box.querySelector("textarea[name^=note-]");
      if (note && answer.note) { note.value = answer.note; note.closest("details").open = true; }
      for (const sha of answer.photos || []) addThumb(item.id, sha);
      if (item.type === "signature" && answer.value) box.querySelector("[data-signed]").hidden = false;
    }
  }

  function capture() {
    if (!draft) return;
    for (const item of items) {
      const answer = answerOf(item.id);
      answer.value = readValue(item);
      const note = fieldset(item.id).querySelector("textarea[name^=note-]");
      if (note) answer.note = note.value.trim();
    }
    showAndHide();
    saveSoon();
  }

  // An item with a show-if is asked only while the earlier item's answer equals its value (and
  // that item is itself asked). A hidden item keeps what was typed, but is neither required nor sent.
  let shown = new Set(items.map((i) => i.id));
  function showAndHide() {
    const visible = new Set();
    for (const item of info.sections.flatMap((s) => s.items)) {
      const rule = item.show_if;
      if (!rule || (visible.has(rule.item_id) && draft.answers[rule.item_id]?.value === rule.equals)) visible.add(item.id);
    }
    for (const item of conditional) {
      const box = form.querySelector(`[data-item="${CSS.escape(item.id)}"]`);
      if (box) box.hidden = !visible.has(item.id);
    }
    shown = visible;
  }

  function wirePhotos(item) {
    const input = fieldset(item.id).querySelector("input[type=file]");
    if (!input) return;
    input.removeAttribute("name");  // the files stay on the phone; the form never posts them
    input.addEventListener("change", async () => {
      for (const file of input.files) {
        if (preview) {  // shown, not kept
          const answer = answerOf(item.id);
          answer.photos.push(`preview-${answer.photos.length}`);
          if (item.type === "photo") answer.value = answer.photos[0];
          const img = Object.assign(document.createElement("img"), { width: 72, height: 72, alt: "",
            src: URL.createObjectURL(file) });
          fieldset(item.id).querySelector(".thumbs").append(img);
          continue;
        }
        try {
          const sha = await photos.keep(file);
          const answer = answerOf(item.id);
          if (!answer.photos.includes(sha)) answer.photos.push(sha);
          if (item.type === "photo") answer.value = answer.photos[0];
          await addThumb(item.id, sha);
        } catch (error) {
          showError(item.id, store.full(error) ? messages.photo_no_room : messages.photo_unreadable);
        }
      }
      input.value = "";
      saveSoon();
    });
  }

  function wireSignature(item) {
    const pad = fieldset(item.id).querySelector("[data-signature]");
    if (!pad) return;
    const canvas = pad.querySelector("canvas");
    const ctx = canvas.getContext("2d");
    ctx.lineWidth = 4;
    ctx.lineCap = "round";
    let drawing = false;
    let dirty = false;
    const point = (e) => {
      const rect = canvas.getBoundingClientRect();
      return [(e.clientX - rect.left) * (canvas.width / rect.width), (e.clientY - rect.top) * (canvas.height / rect.height)];
    };
    canvas.addEventListener("pointerdown", (e) => { drawing = true; canvas.setPointerCapture(e.pointerId); ctx.beginPath(); ctx.moveTo(...point(e)); });
    canvas.addEventListener("pointermove", (e) => { if (drawing) { ctx.lineTo(...point(e)); ctx.stroke(); dirty = true; } });
    const finish = () => {
      if (!drawing) return;
      drawing = false;
      if (!dirty) return;
      canvas.toBlob(async (blob) => {
        let sha;
        try {
          sha = preview ? "preview-signature" : await photos.keep(blob, { downscaleFirst: false });
        } catch (error) {
          if (!store.full(error)) throw error;
          showError(item.id, messages.photo_no_room);
          return;
        }
        const answer = answerOf(item.id);
        answer.value = sha;
        answer.photos = [sha];
        pad.querySelector("[data-signed]").hidden = false;
        saveSoon();
      }, "image/png");
    };
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    pad.querySelector("[data-clear]").addEventListener("click", () => {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      Object.assign(answerOf(item.id), { value: null, photos: [] });
      pad.querySelector("[data-signed]").hidden = true;
      dirty = false;
      saveSoon();
    });
  }

  // The same rules as the server's (inspections/submission.py); the server has the last word.
  function errorOf(item) {
    if (!shown.has(item.id)) return null;
    const answer = draft.answers[item.id] || { value: null, photos: [] };
    const value = answer.value;
    const failed = (item.type === "pass_fail" && value === "fail") ||
      (item.type === "yes_no" && (value === "yes" || value === "no") && value !== item.expected);
    if (value === null || value === "") return item.required ? "required" : null;
    if (item.type === "pass_fail" && value === "na" && item.required && !item.allows_na) return "required";
    if (item.type === "number") {
      if (typeof value !== "number") return "not_a_number";
      if (item.min !== null && value < item.min) return "below_min";
      if (item.max !== null && value > item.max) return "above_max";
    }
    if (failed && item.photo_on_fail && !(answer.photos || []).length) return "photo_required";
    return null;
  }

  function showError(itemId, text) {
    const box = fieldset(itemId);
    let error = box.querySelector(".error");
    if (!text) { error?.remove(); box.classList.remove("has-error"); return; }
    if (!error) { error = document.createElement("p"); error.className = "error"; box.append(error); }
    error.textContent = text;
    box.classList.add("has-error");
  }

  function messageFor(code, item) {
    return (messages.errors[code] || messages.errors.required)
      .replace("%(min)s", item.min ?? "").replace("%(max)s", item.max ?? "");
  }

  function review() {
    capture();
    const problems = [];
    for (const item of items) {
      const code = errorOf(item);
      showError(item.id, code ? messageFor(code, item) : null);
      if (code) problems.push(item);
    }
    const panel = document.getElementById("client-summary");
    panel.hidden = false;
    panel.classList.toggle("alert", problems.length > 0);
    panel.classList.toggle("summary", problems.length === 0);
    const list = panel.querySelector("ul");
    const failed = items.filter((i) => shown.has(i.id)).filter((i) => ["fail"].includes(draft.answers[i.id]?.value) ||
      (i.type === "yes_no" && draft.answers[i.id]?.value && draft.answers[i.id].value !== i.expected));
    panel.querySelector("h2").textContent = problems.length
      ? messages.needs_attention.replace("%(num)s", problems.length) : messages.check_before_sending;
    const listed = problems.length ? problems : failed;
    list.replaceChildren(...listed.map((item) => {
      const li = document.createElement("li");
      const ticket = !problems.length && item.on_fail ? ` — ${messages.opens_ticket[item.on_fail.ticket_kind]}` : "";
      const label = english && item.label_en ? item.label_en : item.label;  // as the page names it
      li.textContent = problems.length ? `${label}: ${messageFor(errorOf(item), item)}` : label + ticket;
      return li;
    }));
    const asked = items.filter((i) => shown.has(i.id));
    const answered = asked.filter((i) => draft.answers[i.id]?.value !== null && draft.answers[i.id]?.value !== undefined).length;
    panel.querySelector("[data-answered]").textContent = problems.length ? "" :
      messages.answered.replace("%(answered)s", answered).replace("%(total)s", asked.length) +
      (failed.length ? "" : ` ${messages.all_passed}`);
    panel.querySelector("button").hidden = problems.length > 0;
    form.querySelector(".actionbar [value=review]").hidden = problems.length === 0;
    form.querySelector(".actionbar [value=submit]").hidden = problems.length > 0;
    panel.scrollIntoView({ block: "start" });
    return problems.length === 0;
  }

  // Sending is one write (store.js, sendDraft): on a full phone it fails whole, the draft stays
  // as it was saved, and the page says so; the person may try again once there is room.
  async function send() {
    try {
      await sendOnce();
    } catch (error) {
      sending = false;
      if (!store.full(error)) throw error;
    }
  }

  async function sendOnce() {
    if (sending || !review()) return;
    if (preview) {
      const panel = document.getElementById("client-summary");
      panel.querySelector("[data-answered]").textContent = messages.preview_not_sent;
      return;
    }
    sending = true;
    clearTimeout(saving);
    const answers = items.filter((i) => shown.has(i.id)).filter((i) => draft.answers[i.id] && (draft.answers[i.id].value !== null ||
      draft.answers[i.id].note || draft.answers[i.id].photos.length)).map((i) => {
      const a = draft.answers[i.id];
      return { item_id: i.id, value: a.value, note: a.note || "", photos: a.photos || [] };
    });
    const where = draft.geo ? { geo: draft.geo } : { geo_status: draft.geo_status || "unavailable" };
    const page = location.pathname + location.search.replace(/[?&]draft=[^&]*/, "");
    if (scan) {
      // The draft's own ids, kept at send: two tabs holding this draft send one scan, and a
      // refused scan is fixed under the same ids (the version it was answered on goes with it).
      await store.sendDraft(info.draft_key, {
        id: draft.outbox_id || crypto.randomUUID(), type: "patrol.scan", status: "waiting", error: null,
        payload: { scan_id: draft.inspection_id, route_id: scan.route_id, checkpoint_id: info.location_id,
          code: scan.code, scanned_at: scan.scanned_at, template_version: draft.template_version || info.template_version,
          answers, ...where },
        photos: [...new Set(answers.flatMap((a) => a.photos))], title: info.title, place: info.place,
        edit_url: page + location.hash, created_at: new Date().toISOString(),
      }, draft.inspection_id);
      await self.fieldApp.queued();
      location.assign(`/patrol/routes/${scan.route_id}/walk`);
      return;
    }
    const payload = {
      inspection_id: draft.inspection_id, template_id: info.template_id, template_version: info.template_version,
      site_id: info.site_id, location_id: info.location_id, started_at: draft.started_at,
      finished_at: new Date().toISOString(), answers, ...where,
    };
    if (info.assignment_id) payload.assignment_id = info.assignment_id;
    await store.sendDraft(info.draft_key, {
      id: draft.outbox_id || crypto.randomUUID(), type: "inspection.submit", payload, status: "waiting",
      photos: [...new Set(answers.flatMap((a) => a.photos))], title: info.title, place: info.place,
      edit_url: page,
      created_at: new Date().toISOString(), error: null,
    }, draft.inspection_id);
    await self.fieldApp.queued();
    location.assign("/today");
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.submitter && event.submitter.value === "submit") send();
    else review();
  });
  form.addEventListener("input", capture);
  form.addEventListener("change", capture);

  (async () => {
    draft = await loadDraft();
    if (draft.template_version && draft.template_version !== info.template_version) {
      location.replace(draft.page || pageOf(draft.template_version));  // finish on the version it began on
      return;
    }
    restore();
    showAndHide();
    locate();
    for (const item of items) { wirePhotos(item); wireSignature(item); }
    form.dataset.ready = "true";  // the draft is loaded: the person (and a test) may start
  })();
})();
