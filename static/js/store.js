// The phone's storage, and the one place that decides who may write it and when.
//
// - A directory database ("fieldcheck-phone") lists whose data this phone holds, who is signed
//   in, and whose sign-in the server has taken away ("lapsed") while their work waits.
// - Each person's data lives in their own database ("fieldcheck-<id>"): outbox, photos, drafts,
//   meta, sent. A change of person deletes nothing: the next person's pages read only
//   their own database, and the sync loop still sends the last person's records with their token.
// - A person's database is opened and written only while the directory lists them, under a
//   shared lock; discarding takes the lock exclusively, unlists them, then deletes the database.
//   So nothing (a second tab, the worker, a late timer) writes after a discard has begun.
// - A draft that was sent cannot come back: sending moves it into the outbox and notes its
//   inspection id in "sent" in one transaction, and a draft save for a sent id is dropped.
// - What the phone keeps stays small: sent records and their "sent" notes are kept for the
//   retention window (prune), photos only while a record not yet sent or a draft names them.
//   Reads go through indexes (status, sent time): a sync costs what it sends, not the history.
// - A write the disk has no room for fails whole (one transaction) and says so ("storage-full"
//   on the page): what was saved before stays.
// Photos are kept as ArrayBuffer plus MIME type: Blobs in IndexedDB fail on several iOS Safari versions.
"use strict";

(function (global) {
  const DIRECTORY = "fieldcheck-phone";
  const BEFORE_PEOPLE = "fieldcheck";  // the one database of earlier builds: adopted by its person
  const PERSON_VERSION = 2;  // 2: indexes by status and sent time; the unread "entities" copy dropped
  const PERSON_STORES = {
    outbox: { keyPath: "id" },              // mutations waiting, sent, rejected or in conflict
    photos: { keyPath: "sha256" },          // {sha256, type, data: ArrayBuffer, uploaded, refused, kept_at}
    drafts: { keyPath: "key" },             // checklists being filled in
    meta: { keyPath: "key" },               // token, session, cursor, last sync
    sent: { keyPath: "inspection_id" },     // drafts already sent: {inspection_id, outbox_id, at}
  };
  const PERSON_INDEXES = {
    outbox: { status: "status", sent: ["status", "sent_at"] },
    sent: { at: "at" },
  };
  const UNSENT = ["waiting", "awaiting_photos", "rejected", "conflict"];
  const DAY_MS = 86400000;

  class Gone extends Error {}  // the person's data was discarded (or never kept) on this phone

  const asPromise = (request) => new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

  const connections = new Map();  // database name -> Promise<IDBDatabase>

  function connect(name, stores, version = 1, indexes = {}) {
    if (!connections.has(name)) {
      const opening = new Promise((resolve, reject) => {
        const request = indexedDB.open(name, version);
        request.onupgradeneeded = () => {
          const db = request.result;
          for (const gone of [...db.objectStoreNames].filter((n) => !(n in stores))) db.deleteObjectStore(gone);
          for (const [store, options] of Object.entries(stores)) {
            const handle = db.objectStoreNames.contains(store) ? request.transaction.objectStore(store)
              : db.createObjectStore(store, options);
            for (const [index, keyPath] of Object.entries(indexes[store] || {})) {
              if (!handle.indexNames.contains(index)) handle.createIndex(index, keyPath);
            }
          }
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
      tx.onabort = () => {
        if (tx.error?.name === "QuotaExceededError") global.dispatchEvent?.(new Event("storage-full"));
        reject(tx.error || new Error("transaction aborted"));
      };
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
      const target = await connect(`fieldcheck-${owner}`, PERSON_STORES, PERSON_VERSION, PERSON_INDEXES);
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
      return transact(await connect(name, PERSON_STORES, PERSON_VERSION, PERSON_INDEXES), names, mode, work);
    });
    const byStatus = (s, statuses) => Promise.all(statuses.map((status) => asPromise(s.index("status").getAll(status))))
      .then((lists) => lists.flat());
    const sentRange = (since) => IDBKeyRange.bound(["sent", new Date(since).toISOString()], ["sent", "\uffff"]);
    // The newest ``limit`` of them, newest first, read by a cursor that stops there.
    const newest = (index, range, limit) => new Promise((resolve, reject) => {
      const rows = [];
      if (limit <= 0) return resolve(rows);
      const request = index.openCursor(range, "prev");
      request.onsuccess = () => {
        const cursor = request.result;
        if (cursor) rows.push(cursor.value);
        if (!cursor || rows.length >= limit) resolve(rows);
        else cursor.continue();
      };
      request.onerror = () => reject(request.error);
    });
    const data = {
      userId,
      get: (store, key) => within([store], "readonly", (s) => asPromise(s.get(key))),
      all: (store) => within([store], "readonly", (s) => asPromise(s.getAll())),
      put: (store, value) => within([store], "readwrite", (s) => { s.put(value); }),
      putMany: (store, values) => within([store], "readwrite", (s) => { for (const v of values) s.put(v); }),
      remove: (store, key) => within([store], "readwrite", (s) => { s.delete(key); }),
      // Outbox records in these statuses, through the index.
      records: (...statuses) => within(["outbox"], "readonly", (s) => byStatus(s, statuses)),
      // Records sent since that time (ms): how many, and the newest ``limit`` of them, newest
      // first (a page shows a screenful, not a week: its cost stays flat however much was sent).
      sentSince: (since, limit = Infinity) => within(["outbox"], "readonly", async (s) => {
        const index = s.index("sent");
        const [total, rows] = await Promise.all([asPromise(index.count(sentRange(since))),
          newest(index, sentRange(since), limit)]);
        return { total, rows };
      }),
      // How many records in each status (counted by the index, nothing read).
      tally: () => within(["outbox"], "readonly", async (s) => {
        const counts = {};
        for (const status of [...UNSENT, "sent"]) counts[status] = await asPromise(s.index("status").count(status));
        return counts;
      }),
      // Retention: sent records older than the window go, with their "sent" notes. Photos go
      // once no record still to send and no draft names them: at once when the server has
      // them (or refused them for good), after an hour when nothing ever named them (a
      // signature drawn again, a photo taken and removed), so a photo just kept for a draft
      // being saved is never taken from under it.
      prune: (keepDays, now = Date.now()) => within(["outbox", "sent", "photos", "drafts"], "readwrite",
        async (outbox, sent, photos, drafts) => {
          const cutoff = new Date(now - keepDays * DAY_MS).toISOString();
          const old = await asPromise(outbox.index("sent").getAllKeys(IDBKeyRange.bound(["sent", ""], ["sent", cutoff])));
          for (const key of old) outbox.delete(key);
          for (const key of await asPromise(sent.index("at").getAllKeys(IDBKeyRange.upperBound(cutoff)))) sent.delete(key);
          const needed = new Set((await byStatus(outbox, UNSENT)).flatMap((r) => r.photos));
          for (const draft of await asPromise(drafts.getAll())) {
            for (const answer of Object.values(draft.answers || {})) (answer.photos || []).forEach((sha) => needed.add(sha));
          }
          const hourAgo = new Date(now - 3600000).toISOString();
          for (const sha of await asPromise(photos.getAllKeys())) {
            if (needed.has(sha)) continue;
            const photo = await asPromise(photos.get(sha));
            if (photo.uploaded || photo.refused || (photo.kept_at && photo.kept_at < hourAgo)) photos.delete(sha);
            else if (!photo.kept_at) photos.put({ ...photo, kept_at: new Date(now).toISOString() });  // an earlier build's
          }
          return old.length;
        }),
      // What this person's photos take on the phone, in bytes.
      photoBytes: () => within(["photos"], "readonly", async (s) =>
        (await asPromise(s.getAll())).reduce((sum, photo) => sum + photo.data.byteLength, 0)),
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
      unsent: () => within(["outbox", "drafts"], "readonly", async (outbox, drafts) => {
        let records = 0;
        for (const status of UNSENT) records += await asPromise(outbox.index("status").count(status));
        return { records, drafts: await asPromise(drafts.count()) };
      }),
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
    // A write refused for want of room (the page has shown "storage-full" already).
    full: (error) => error?.name === "QuotaExceededError",
    person,
    get: own("get"), all: own("all"), put: own("put"), putMany: own("putMany"), remove: own("remove"),
    meta: own("meta"), setMeta: own("setMeta"), saveDraft: own("saveDraft"), sendDraft: own("sendDraft"),
    unsent: own("unsent"), records: own("records"), sentSince: own("sentSince"), tally: own("tally"),
    photoBytes: own("photoBytes"),
    // The phone is this person's now. Whatever others left stays theirs, unseen, and is still sent.
    // (A page kept offline signs its person in too: their lapsed sign-in stays lapsed until the
    // server gives them a token again.)
    signIn(userId, name) {
      mine = person(userId);
      signedIn = inDirectory("readwrite", async (people) => {
        for (const row of await asPromise(people.getAll())) {
          if (row.user_id !== userId && row.signed_in) people.put({ ...row, signed_in: false });
        }
        const row = await asPromise(people.get(userId));
        people.put({ ...(row || { since: new Date().toISOString() }), user_id: userId, signed_in: true, left: false,
          ...(name ? { name } : {}) });
      });
      return signedIn;
    },
    // The server refused this person's token and the web session it came with: nothing of theirs
    // is tried again until they sign in anew (a session other than ``session``).
    lapse: (userId, session) => inDirectory("readwrite", async (people) => {
      const row = await asPromise(people.get(userId));
      if (row) people.put({ ...row, lapsed: { session: session || "", at: new Date().toISOString() } });
    }),
    // They signed in again and the server gave them a token: their work goes at once.
    unlapse: (userId) => inDirectory("readwrite", async (people) => {
      const row = await asPromise(people.get(userId));
      if (row?.lapsed) people.put({ ...row, lapsed: null });
    }),
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
