// What the offline app keeps on the device, in IndexedDB (idb, vendored): the trust data of the
// last good sync (the engine's snapshot), the device's HMAC key, the repeated-use tags and the
// local scan log. Never in the service worker's cache, never in localStorage.
//
// The scan log keeps what verifier/scanlog.py keeps and nothing that identifies a person: time,
// day, verdict, code, warnings, credential type and category, headcount, venue profile, how the
// code was read. Repeated use is an HMAC of iss+jti under the device key (the engine computes
// it), kept only as long as the venue's window needs.
import { openDB } from "./vendor/idb-8.0.4/index.js";

const DB_NAME = "socpass-scan";
const DB_VERSION = 1;
const KEEP_DAYS = 400; // as SOCPASS_SCANLOG_DAYS of the server verifier
const SEEN_KEEP_SECONDS = 86400; // repeated-use tags older than a day are of no use to any venue

function localDay(seconds) {
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
}

export async function openStore() {
  const db = await openDB(DB_NAME, DB_VERSION, {
    upgrade(db) {
      db.createObjectStore("kv");
      db.createObjectStore("seen");
      const scans = db.createObjectStore("scans", { autoIncrement: true });
      scans.createIndex("at", "at");
    },
  });

  async function deviceKey() {
    let key = await db.get("kv", "device_key");
    if (!key) {
      // Non-extractable: script on this page can use it, nobody can read it out.
      key = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      await db.put("kv", key, "device_key");
    }
    return key;
  }

  let scansSinceCleanup = 0;

  // A verdict never waits for the disk: the repeated-use tags are read from memory (loaded
  // once here; this page is the device's one scanner) and they and the scan log are written
  // behind, all of a burst in one transaction. An IndexedDB transaction costs about a
  // millisecond, twenty times a verification (docs/benchmarks.md). A tab killed within that
  // moment loses its last row of statistics, never a verdict.
  // In order of last use (a use moves its tag to the end), so those past the venue's window are
  // pruned from the front at each use: the map holds one venue window's credentials, however
  // many scans the tab has seen (as the server's scan log drops its hashes after the window).
  const seenTags = new Map();
  {
    const loaded = [];
    let cursor = await db.transaction("seen").store.openCursor();
    while (cursor) {
      if (typeof cursor.value === "number") loaded.push([cursor.key, cursor.value]);
      cursor = await cursor.continue();
    }
    loaded.sort((a, b) => a[1] - b[1]);
    for (const [tag, when] of loaded) seenTags.set(tag, when);
  }

  function pruneSeen(before) {
    for (const [tag, when] of seenTags) {
      if (when >= before) break;
      seenTags.delete(tag);
    }
  }
  let pendingScans = [];
  let pendingSeen = new Map();
  let flushing = null;

  function writeBehind() {
    if (!flushing) flushing = new Promise((resolve) => setTimeout(resolve, 0)).then(flush);
    return flushing;
  }

  async function flush() {
    const scans = pendingScans;
    const seen = pendingSeen;
    pendingScans = [];
    pendingSeen = new Map();
    try {
      const tx = db.transaction(["scans", "seen"], "readwrite");
      for (const row of scans) tx.objectStore("scans").add(row);
      for (const [tag, when] of seen) tx.objectStore("seen").put(when, tag);
      await tx.done;
      scansSinceCleanup += scans.length;
      if (scansSinceCleanup >= 500) {
        scansSinceCleanup = 0;
        await cleanup(Math.max(...scans.map((row) => row.at)));
      }
    } catch (err) {
      // statistics only (a full disk, say): the verdicts stand
    } finally {
      flushing = null;
    }
    if (pendingScans.length || pendingSeen.size) writeBehind();
  }

  async function written() {
    while (flushing) await flushing;
  }

  async function cleanup(now) {
    const tx = db.transaction(["scans", "seen"], "readwrite");
    const old = IDBKeyRange.upperBound(now - KEEP_DAYS * 86400);
    let cursor = await tx.objectStore("scans").index("at").openCursor(old);
    while (cursor) {
      cursor.delete();
      cursor = await cursor.continue();
    }
    let seen = await tx.objectStore("seen").openCursor();
    while (seen) {
      if (typeof seen.value !== "number" || seen.value < now - SEEN_KEEP_SECONDS) seen.delete();
      seen = await seen.continue();
    }
    await tx.done;
  }

  return {
    get: (name) => db.get("kv", name),
    put: (name, value) => db.put("kv", value, name),
    deviceKey,
    // The engine's repeated-use store: tag -> when (seconds); `window`: how long a use counts.
    seen: {
      get: async (tag) => seenTags.get(tag),
      get size() { return seenTags.size; }, // what the tab holds (tests: it stays bounded)
      put: async (tag, when, window = SEEN_KEEP_SECONDS) => {
        seenTags.delete(tag);
        seenTags.set(tag, when);
        pruneSeen(when - Math.min(window, SEEN_KEEP_SECONDS));
        pendingSeen.set(tag, when);
        writeBehind();
      },
    },
    // Queued, written with the next burst (see writeBehind); scans() waits for it.
    logScan(result, { via, profile, now }) {
      const cred = result.credential || {};
      const ent = result.entitlement || {};
      pendingScans.push({
        at: now,
        day: localDay(now),
        verdict: result.verdict,
        code: result.code,
        warnings: (result.warnings || []).join(","),
        type: cred.type || null,
        category: cred.category || null,
        persons: Number.isInteger(ent.persons) ? ent.persons : null,
        profile: profile,
        via: via,
      });
      writeBehind();
    },
    async countScans() {
      await written();
      return db.count("scans");
    },
    async scans() {
      await written();
      return db.getAll("scans");
    },
    cleanup,
  };
}

const CSV_COLUMNS = ["at", "day", "verdict", "code", "warnings", "type", "category", "persons",
  "profile", "via"];
const CSV_HEAD = {
  ru: ["время", "день", "решение", "код", "предупреждения", "тип", "категория", "человек",
    "объект", "способ"],
  en: CSV_COLUMNS,
};

function csvCell(value) {
  if (value === null || value === undefined) return "";
  const text = String(value);
  // A cell starting with = + - @ would be a formula in a spreadsheet: quoted with a leading '.
  const safe = /^[=+\-@\t\r]/.test(text) ? "'" + text : text;
  return /[";\r\n]/.test(safe) ? '"' + safe.replace(/"/g, '""') + '"' : safe;
}

// The local statistics as CSV (";" separated, as the server's /stats.csv): one row per scan.
export function scansCsv(rows, lang) {
  const lines = [CSV_HEAD[lang === "en" ? "en" : "ru"].join(";")];
  for (const row of rows) {
    const at = new Date(row.at * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    lines.push(CSV_COLUMNS.map((name) => csvCell(name === "at" ? at : row[name])).join(";"));
  }
  return "\ufeff" + lines.join("\r\n") + "\r\n";
}
