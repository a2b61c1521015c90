// The guard's walk: a typed (or scanned) code checks in at a checkpoint, then its checklist opens.
// The scan itself is recorded when the checklist is sent: one patrol.scan in the outbox.
"use strict";

(function () {
  const form = document.querySelector("[data-scan-form]");
  if (!form) return;
  const route = JSON.parse(document.getElementById("route-data").textContent);
  const normalise = (code) => code.toUpperCase().replace(/[^A-Z0-9]/g, "");

  function checkIn(code) {
    form.elements.code.value = code;
    form.requestSubmit();
  }

  // The camera: BarcodeDetector where the browser has it (Chrome on Android), jsQR where it has not
  // (iOS Safari, desktop Linux). The frame canvas is reused and released when the camera stops.
  const view = document.querySelector("[data-camera-view]");
  const video = view.querySelector("video");
  let stream = null;
  let canvas = null;

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    view.hidden = true;
    if (canvas) { canvas.width = 0; canvas.height = 0; canvas = null; }
  }

  // jsQR is fetched only here, by phones that need it (from the service worker's cache offline).
  function loadScanner() {
    if (self.jsQR) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = view.dataset.scanner;
      script.onload = resolve;
      script.onerror = () => reject(new Error("the QR decoder could not be loaded"));
      document.head.append(script);
    });
  }

  async function decoderFor() {
    if ("BarcodeDetector" in self && (await BarcodeDetector.getSupportedFormats()).includes("qr_code")) {
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      return async () => (await detector.detect(video))[0]?.rawValue || null;
    }
    await loadScanner();
    canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    return async () => {
      if (!video.videoWidth) return null;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const found = self.jsQR(context.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height,
        { inversionAttempts: "dontInvert" });
      return found ? found.data : null;
    };
  }

  document.querySelector("[data-camera]").addEventListener("click", async () => {
    document.querySelector("[data-camera-error]").hidden = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (error) {
      document.querySelector("[data-camera-error]").hidden = false;
      return;
    }
    video.srcObject = stream;
    view.hidden = false;
    await video.play();
    const decode = await decoderFor();
    const look = async () => {
      if (!stream) return;
      const code = await decode().catch(() => null);
      if (code) { stopCamera(); checkIn(code); } else requestAnimationFrame(look);
    };
    look();
  });
  view.querySelector("[data-camera-stop]").addEventListener("click", stopCamera);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = normalise(form.elements.code.value);
    const stop = route.checkpoints.find((c) => c.code && normalise(c.code) === typed);
    form.querySelector("[data-scan-error]").hidden = Boolean(stop);
    if (!stop) return;
    const scan = new URLSearchParams({ route: route.route_id, code: stop.code, at: new Date().toISOString() });
    location.assign(`${stop.checklist_url}#${scan}`);
  });

  // An incident on the round becomes a hazard ticket, with its photos, through the outbox.
  const incident = document.querySelector("[data-incident-form]");
  const incidentPhotos = [];
  incident.querySelector("input[type=file]").addEventListener("change", async (event) => {
    for (const file of event.target.files) {
      let sha;
      try {
        sha = await self.fieldPhotos.keep(file);
      } catch (error) {
        if (self.fieldStore.full(error)) break;  // the page says the phone is full
        throw error;
      }
      incidentPhotos.push(sha);
      const img = Object.assign(document.createElement("img"), { width: 72, height: 72, alt: "" });
      img.src = await self.fieldPhotos.objectUrl(sha);
      incident.querySelector(".thumbs").append(img);
    }
    event.target.value = "";
  });
  self.fieldApp.queueingOnce(incident, async () => {
    const title = incident.elements.title.value.trim();
    incident.querySelector("[data-incident-error]").hidden = Boolean(title);
    if (!title) return;
    const payload = { ticket_id: crypto.randomUUID(), kind: "hazard", title, priority: "high",
      description: incident.elements.description.value.trim(), site_id: route.site_id,
      location_id: Number(incident.elements.location_id.value), photos: [...incidentPhotos] };
    await self.fieldStore.put("outbox", { id: crypto.randomUUID(), type: "ticket.create", payload, status: "waiting",
      photos: [...incidentPhotos], title, place: `${route.route_name} · ${route.incident_place}`,
      created_at: new Date().toISOString(), error: null });
    incident.reset();
    incidentPhotos.length = 0;
    incident.querySelector(".thumbs").replaceChildren();
    incident.closest("details").open = false;
    await self.fieldApp.queued();
  });

  // Scans still in the outbox count as done on this phone.
  (async () => {
    const opens = route.round_opens_at ? Date.parse(route.round_opens_at) : 0;
    const store = self.fieldStore;
    const records = [...await store.records("waiting", "awaiting_photos", "rejected", "conflict"),
      ...(await store.sentSince(opens)).rows];  // sent after the round opened, as its scans were
    for (const record of records) {
      if (record.type !== "patrol.scan" || record.payload.route_id !== route.route_id) continue;
      if (Date.parse(record.payload.scanned_at) < opens) continue;
      const badge = document.querySelector(`[data-checkpoint="${record.payload.checkpoint_id}"] [data-checkpoint-state]`);
      if (badge) {
        badge.textContent = record.status === "sent" ? route.done_label : route.waiting_label;
        badge.classList.add("ok");
      }
    }
    // The first checkpoint not done is where the guard goes next.
    const next = document.querySelector("[data-checkpoint-state]:not(.ok)");
    if (next) {
      next.textContent = route.next_label;
      next.classList.add("next");
      next.closest("li").classList.add("next-stop");
    }
  })();
})();
