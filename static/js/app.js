// Progressive enhancement for the checklist page: upload photos as soon as they are taken,
// and capture signatures on a canvas. Without this file the form still posts its files.
"use strict";

function csrfToken() {
  const headers = document.body.getAttribute("hx-headers");
  return headers ? JSON.parse(headers)["X-CSRFToken"] : "";
}

async function uploadPhoto(blob) {
  const body = new FormData();
  body.append("photo", blob, "photo");
  const response = await fetch("/photos", { method: "POST", body, headers: { "X-CSRFToken": csrfToken() } });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error ? data.error.message : response.statusText);
  return data;
}

function addPhoto(container, itemId, uploaded) {
  const hidden = document.createElement("input");
  hidden.type = "hidden";
  hidden.name = `photos-${itemId}`;
  hidden.value = uploaded.sha256;
  container.prepend(hidden);
  const img = document.createElement("img");
  img.src = uploaded.thumb_url;
  img.width = 72;
  img.height = 72;
  img.alt = "";
  container.querySelector(".thumbs").append(img);
}

function showError(fieldset, message) {
  let error = fieldset.querySelector(".error");
  if (!error) {
    error = document.createElement("p");
    error.className = "error";
    fieldset.append(error);
  }
  error.textContent = message;
}

function enhancePhotos(fieldset) {
  const container = fieldset.querySelector("[data-photos]");
  if (!container) return;
  const input = container.querySelector("input[type=file]");
  input.addEventListener("change", async () => {
    const files = Array.from(input.files);
    for (const file of files) {
      try {
        addPhoto(container, fieldset.dataset.item, await uploadPhoto(file));
      } catch (err) {
        showError(fieldset, err.message);
        return; // keep the file in the input: the form's own post still carries it
      }
    }
    input.value = "";
  });
}

function enhanceSignature(fieldset) {
  const pad = fieldset.querySelector("[data-signature]");
  if (!pad) return;
  const canvas = pad.querySelector("canvas");
  const hidden = pad.querySelector("input[type=hidden]");
  const ctx = canvas.getContext("2d");
  ctx.lineWidth = 4;
  ctx.lineCap = "round";
  let drawing = false;
  let dirty = false;
  const point = (event) => {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * (canvas.width / rect.width), (event.clientY - rect.top) * (canvas.height / rect.height)];
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    ctx.beginPath();
    ctx.moveTo(...point(event));
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    ctx.lineTo(...point(event));
    ctx.stroke();
    dirty = true;
  });
  const finish = () => {
    if (!drawing) return;
    drawing = false;
    if (!dirty) return;
    canvas.toBlob(async (blob) => {
      try {
        hidden.value = (await uploadPhoto(blob)).sha256;
      } catch (err) {
        showError(fieldset, err.message);
      }
    }, "image/png");
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  pad.querySelector("[data-clear]").addEventListener("click", () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    hidden.value = "";
    dirty = false;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const fieldset of document.querySelectorAll("form[data-checklist] fieldset[data-item]")) {
    enhancePhotos(fieldset);
    enhanceSignature(fieldset);
  }
});
