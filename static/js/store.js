// The phone's storage, and the one place that decides who may write it and when.
//
// - A directory database ("fieldcheck") lists whose data this phone holds and who is signed in.
// - Each person's data lives in their own database ("fieldcheck-<id>"): outbox, photos, drafts,
//   entities, meta, sent. A change of person deletes nothing: the next person's pages read only
//   their own database, and the sync loop still sends the last person's records with their token.
// - A person's database is opened and written only while the directory lists them, under a
//   shared lock; discarding takes the lock exclusively, unlists them, then deletes the database.
//   So nothing (a second tab, the worker, a late timer) writes after a discard has begun.
// - A draft that was sent cannot come back: sending moves it into the outbox and notes its
//   inspection id in "sent" in one transaction, and a draft save for a sent id is dropped.
// Photos are kept as ArrayBuffer plus MIME type: Blobs in IndexedDB fail on several iOS Safari versions.
"use strict";

(function (global) {
  const DIRECTORY = "fieldcheck-phone";
  const BEFORE_PEOPLE = "fieldcheck";  // the one database of earlier builds: adopted by its person
  const PERSON_STORES = {
    outbox: { keyPath: "id" },              // mutations waiting, sent, rejected or in conflict
    photos: { keyPath: "sha256" },          // {sha256, type, data: ArrayBuffer, uploaded}
    drafts: { keyPath: "key" },             // checklists being filled in
    entities: { keyPath: "key" },           // what the last pull said: {key: "ticket:<id>", entity, data}
    meta: { keyPath: "key" },               // token, session, cursor, last sync
    sent: { keyPath: "inspection_id" },     // drafts already sent: {inspection_id, outbox_id, at}
  };
  const UNSENT = new Set(["waiting", "awaiting_photos", "rejected", "conflict"]);

  class Gone extends Error {}  // the person's data was discarded (or never kept) on this phone

  const asPromise = (request) => new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

  const connections = new Map();  // database name -> Promise<IDBDatabase>

  function connect(name, stores) {
    if (!connections.has(name)) {
      const opening = new Promise((resolve, reject) => {
        const request = indexedDB.open(name, 1);
        request.onupgradeneeded = () => {
          for (const [store, options] of Object.entries(stores)) request.result.createObjectStore(store, options);
        };
        request.onsuccess = () => {
          const db = request.result;
          db.onversionchange = () => { db.close(); connections.delete(name); };  // let a discard proceed
          db.onclose = () => connections.delete(name);  // site data cleared: reopen next time
          resolve(db);
        };
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error("storage is blocked by another tab"));
      });
      connections.set(name, opening);
      opening.catch(() => connections.delete(name));
    }
    return connections.get(name);
  }

  // Run ``work(stores...)`` in one transaction; resolves with what work's promise resolved to.
  async function transact(db, names, mode, work) {
    return new Promise((resolve, reject) => {
      const tx = db.transaction(names, mode);
      let result;
      Promise.resolve(work(...names.map((n) => tx.objectStore(n)))).then((value) => { result = value; }, reject);
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    });
  }

  let adopting = null;
  const directory = () => connect(DIRECTORY, { people: { keyPath: "user_id" } })
    .then((db) => (adopting ||= adoptEarlierBuild(db)).then(() => db));

  // A phone updated from a build with one database for everyone: what it holds becomes its
  // person's own database (their unsent records included), then the old one is deleted.
  async function adoptEarlierBuild(db) {
    const names = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [];
    if (!names.includes(BEFORE_PEOPLE)) return;
    const old = await new Promise((resolve, reject) => {
      const request = indexedDB.open(BEFORE_PEOPLE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const stores = [...old.objectStoreNames].filter((n) => n in PERSON_STORES);
    const rows = {};
    if (stores.length) {
      await transact(old, stores, "readonly", (...handles) => Promise.all(
        handles.map((h, i) => asPromise(h.getAll()).then((all) => { rows[stores[i]] = all; }))));
    }
    old.close();
    const owner = (rows.meta || []).find((r) => r.key === "user_id")?.value;
    if (owner) {
      const target = await connect(`fieldcheck-${owner}`, PERSON_STORES);
      const names = Object.keys(rows);
      await transact(target, names, "readwrite", (...handles) => {
        handles.forEach((h, i) => rows[names[i]].forEach((row) => h.put(row)));
      });
      await transact(db, ["people"], "readwrite", (people) => {
        people.put({ user_id: owner, signed_in: false, since: new Date().toISOString() });
      });
    }
    await new Promise((resolve) => {
      const request = indexedDB.deleteDatabase(BEFORE_PEOPLE);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  }
  const inDirectory = (mode, work) => directory().then((db) => transact(db, ["people"], mode, work));
  const listed = (userId) => inDirectory("readonly", (people) => asPromise(people.get(userId)));
  const lockName = (userId) => `fieldcheck-person-${userId}`;

  function person(userId) {
    const name = `fieldcheck-${userId}`;
    // Every access: under the person's shared lock, only while they are listed.
    const within = (names, mode, work) => navigator.locks.request(lockName(userId), { mode: "shared" }, async () => {
      if (!(await listed(userId))) throw new Gone(`nothing of person ${userId} is kept here`);
      return transact(await connect(name, PERSON_STORES), names, mode, work);
    });
    const data = {
      userId,
      get: (store, key) => within([store], "readonly", (s) => asPromise(s.get(key))),
      all: (store) => within([store], "readonly", (s) => asPromise(s.getAll())),
      put: (store, value) => within([store], "readwrite", (s) => { s.put(value); }),
      putMany: (store, values) => within([store], "readwrite", (s) => { for (const v of values) s.put(v); }),
      remove: (store, key) => within([store], "readwrite", (s) => { s.delete(key); }),
      // A pulled page: upserts kept, deletes gone; a reset page replaces the whole copy first.
      applyChanges: (changes, reset) => within(["entities"], "readwrite", (s) => {
        if (reset) s.clear();
        for (const c of changes) {
          const key = `${c.entity}:${c.id}`;
          if (c.op === "delete") s.delete(key);
          else s.put({ key, ...c });
        }
      }),
      async meta(key) {
        const row = await data.get("meta", key);
        return row ? row.value : undefined;
      },
      setMeta: (key, value) => data.put("meta", { key, value }),
      // A draft save; dropped if its check was sent meanwhile (unless it is the fix of a refused record).
      saveDraft: (draft) => within(["drafts", "sent", "outbox"], "readwrite", async (drafts, sent, outbox) => {
        const done = await asPromise(sent.get(draft.inspection_id));
        if (done) {
          const fixing = draft.outbox_id && (await asPromise(outbox.get(draft.outbox_id)));
          if (!fixing || !["rejected", "conflict"].includes(fixing.status)) return false;
        }
        drafts.put({ ...draft, updated_at: new Date().toISOString() });
        return true;
      }),
      // Send: the record enters the outbox and the draft leaves, at once.
      sendDraft: (draftKey, record, inspectionId) => within(["outbox", "drafts", "sent"], "readwrite",
        (outbox, drafts, sent) => {
          outbox.put(record);
          drafts.delete(draftKey);
          sent.put({ inspection_id: inspectionId, outbox_id: record.id, at: new Date().toISOString() });
        }),
      // What this person still has on the phone that the server does not.
      async unsent() {
        const [records, drafts] = await Promise.all([data.all("outbox"), data.all("drafts")]);
        return { records: records.filter((r) => UNSENT.has(r.status)).length, drafts: drafts.length };
      },
    };
    return data;
  }

  // The person whose page this is. Reads and writes wait until they are signed in here.
  let mine = null;
  let signedIn = Promise.resolve();
  const own = (method) => (...args) => signedIn.then(() => {
    if (!mine) throw new Gone("nobody is signed in on this page");
    return mine[method](...args);
  });

  const store = {
    Gone,
    person,
    get: own("get"), all: own("all"), put: own("put"), putMany: own("putMany"), remove: own("remove"),
    meta: own("meta"), setMeta: own("setMeta"), saveDraft: own("saveDraft"), sendDraft: own("sendDraft"),
    unsent: own("unsent"),
    // The phone is this person's now. Whatever others left stays theirs, unseen, and is still sent.
    signIn(userId) {
      mine = person(userId);
      signedIn = inDirectory("readwrite", async (people) => {
        for (const row of await asPromise(people.getAll())) {
          if (row.user_id !== userId && row.signed_in) people.put({ ...row, signed_in: false });
        }
        const row = await asPromise(people.get(userId));
        people.put({ ...(row || { since: new Date().toISOString() }), user_id: userId, signed_in: true, left: false });
      });
      return signedIn;
    },
    // Logout that keeps this person's unsent work: it stays listed and sending, with their token
    // until the server has it all (sync.js, release).
    signOut: (userId) => inDirectory("readwrite", async (people) => {
      const row = await asPromise(people.get(userId));
      if (row) people.put({ ...row, signed_in: false, left: true });
    }),
    // A page the same for everyone (/outbox, /offline) shows the person signed in on the phone.
    async follow() {
      const userId = await store.current();
      mine = userId ? person(userId) : null;
      return userId;
    },
    // Everything of this person, gone: only by their own choice, or once the server has it all.
    discard: (userId) => navigator.locks.request(lockName(userId), { mode: "exclusive" }, async () => {
      await inDirectory("readwrite", (people) => { people.delete(userId); });
      const name = `fieldcheck-${userId}`;
      const open = connections.get(name);
      if (open) (await open.catch(() => null))?.close();
      connections.delete(name);
      await new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase(name);
        request.onsuccess = () => resolve();
        request.onerror = () => reject(request.error);
        request.onblocked = () => resolve();  // other tabs close on versionchange; deletion completes then
      });
    }),
    people: () => inDirectory("readonly", (people) => asPromise(people.getAll())),
    // The person signed in on this phone now (the worker asks), or null.
    async current() {
      const row = (await store.people()).find((p) => p.signed_in);
      return row ? row.user_id : null;
    },
  };

  global.fieldStore = store;
})(self);
