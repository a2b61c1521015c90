// The guard's walk: a typed (or scanned) code checks in at a checkpoint, then its checklist opens.
// The scan itself is recorded when the checklist is sent: one patrol.scan in the outbox.
"use strict";

(function () {
  const form = document.querySelector("[data-scan-form]");
  if (!form) return;
  const route = JSON.parse(document.getElementById("route-data").textContent);
  const normalise = (code) => code.toUpperCase().replace(/[^A-Z0-9]/g, "");

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = normalise(form.elements.code.value);
    const stop = route.checkpoints.find((c) => c.code && normalise(c.code) === typed);
    form.querySelector("[data-scan-error]").hidden = Boolean(stop);
    if (!stop) return;
    const scan = new URLSearchParams({ route: route.route_id, code: stop.code, at: new Date().toISOString() });
    location.assign(`${stop.checklist_url}#${scan}`);
  });

  // Scans still in the outbox count as done on this phone.
  (async () => {
    const opens = route.round_opens_at ? Date.parse(route.round_opens_at) : 0;
    const records = await self.fieldStore.all("outbox");
    for (const record of records) {
      if (record.type !== "patrol.scan" || record.payload.route_id !== route.route_id) continue;
      if (Date.parse(record.payload.scanned_at) < opens) continue;
      const badge = document.querySelector(`[data-checkpoint="${record.payload.checkpoint_id}"] [data-checkpoint-state]`);
      if (badge) {
        badge.textContent = record.status === "sent" ? route.done_label : route.waiting_label;
        badge.classList.add("ok");
      }
    }
  })();
})();
