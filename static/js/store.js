// The phone's own storage: one IndexedDB database, used by the pages and the service worker.
// Photos are kept as ArrayBuffer plus MIME type: Blobs in IndexedDB fail on several iOS Safari versions.
"use strict";

(function (global) {
  const DB_NAME = "fieldcheck";
  const DB_VERSION = 1;
  const STORES = {
    outbox: { keyPath: "id" },      // mutations waiting, sent, rejected or in conflict
    photos: { keyPath: "sha256" },  // {sha256, type, data: ArrayBuffer, uploaded}
    drafts: { keyPath: "key" },     // checklists being filled in
    entities: { keyPath: "key" },   // what the last pull said: {key: "ticket:<id>", entity, data}
    meta: { keyPath: "key" },       // token, user, cursor, last sync
  };
  let opening = null;

  function open() {
    if (!opening) {
      opening = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = () => {
          const db = request.result;
          for (const [name, options] of Object.entries(STORES)) {
            if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, options);
          }
        };
        request.onsuccess = () => {
          const db = request.result;
          db.onversionchange = () => { db.close(); opening = null; };  // let a wipe or upgrade proceed
          db.onclose = () => { opening = null; };  // closed by the browser (site data cleared): reopen next time
          resolve(db);
        };
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error("storage is blocked by another tab"));
      });
      opening.catch(() => { opening = null; });
    }
    return opening;
  }

  async function run(storeName, mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(storeName, mode);
      let result;
      Promise.resolve(work(tx.objectStore(storeName))).then((value) => { result = value; });
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    });
  }

  const asPromise = (request) => new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

  // Every read and write waits until the phone is claimed for the person on the page (claim
  // below), so nothing they record in the first moments is wiped with the last person's data.
  let claimed = Promise.resolve();
  const gated = (work) => claimed.catch(() => {}).then(work);

  const store = {
    get: (name, key) => gated(() => run(name, "readonly", (s) => asPromise(s.get(key)))),
    all: (name) => gated(() => run(name, "readonly", (s) => asPromise(s.getAll()))),
    put: (name, value) => gated(() => run(name, "readwrite", (s) => { s.put(value); })),
    putMany: (name, values) => gated(() => run(name, "readwrite", (s) => { for (const v of values) s.put(v); })),
    remove: (name, key) => gated(() => run(name, "readwrite", (s) => { s.delete(key); })),
    async meta(key) {
      const row = await store.get("meta", key);
      return row ? row.value : undefined;
    },
    setMeta: (key, value) => store.put("meta", { key, value }),
    // The phone is this person's from now on: what a previous person left is never shown to them.
    claim(userId) {
      claimed = (async () => {
        const row = await run("meta", "readonly", (s) => asPromise(s.get("user_id")));
        if (row && row.value === userId) return;
        await store.wipe();
        await run("meta", "readwrite", (s) => { s.put({ key: "user_id", value: userId }); });
      })();
      return claimed;
    },
    // Everything the person left on this phone, gone (logout).
    async wipe() {
      if (opening) {
        const db = await opening.catch(() => null);
        if (db) db.close();
        opening = null;
      }
      await new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase(DB_NAME);
        request.onsuccess = () => resolve();
        request.onerror = () => reject(request.error);
        request.onblocked = () => resolve();  // other tabs close on versionchange; deletion completes then
      });
    },
  };

  global.fieldStore = store;
})(self);
