// Photos on the phone: upright, downscaled to about 1600 px, JPEG 0.8, hashed, kept in IndexedDB.
"use strict";

(function (global) {
  const LONGEST_SIDE = 1600;
  const QUALITY = 0.8;

  async function sha256Hex(buffer) {
    const digest = await crypto.subtle.digest("SHA-256", buffer);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function canvasToBlob(canvas, type, quality) {
    if (canvas.convertToBlob) return canvas.convertToBlob({ type, quality });
    return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("encode failed"))),
      type, quality));
  }

  // A camera file (often 12 MP) becomes a few hundred KB. The canvas is released at once:
  // iOS caps the memory of all canvases together.
  async function downscale(file) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, LONGEST_SIDE / Math.max(bitmap.width, bitmap.height));
    const width = Math.round(bitmap.width * scale);
    const height = Math.round(bitmap.height * scale);
    const canvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement("canvas"), { width, height });
    try {
      canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
      return await canvasToBlob(canvas, "image/jpeg", QUALITY);
    } finally {
      bitmap.close();
      canvas.width = 0;
      canvas.height = 0;
    }
  }

  // Store a photo (or a signature drawn on a canvas) and answer its hash.
  async function keep(blob, { downscaleFirst = true } = {}) {
    const ready = downscaleFirst ? await downscale(blob) : blob;
    const data = await ready.arrayBuffer();
    const sha256 = await sha256Hex(data);
    await global.fieldStore.put("photos", { sha256, type: ready.type || "image/jpeg", data, uploaded: false,
      kept_at: new Date().toISOString() });
    return sha256;
  }

  async function objectUrl(sha256) {
    const photo = await global.fieldStore.get("photos", sha256);
    return photo ? URL.createObjectURL(new Blob([photo.data], { type: photo.type })) : null;
  }

  async function storageShort() {
    if (!navigator.storage || !navigator.storage.estimate) return false;
    const { quota, usage } = await navigator.storage.estimate();
    return quota - usage < 50 * 1024 * 1024;
  }

  global.fieldPhotos = { keep, objectUrl, storageShort };
})(self);
