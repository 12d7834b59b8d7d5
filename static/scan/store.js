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
    // The engine's repeated-use store: tag -> when (seconds).
    seen: {
      get: (tag) => db.get("seen", tag),
      put: (tag, when) => db.put("seen", when, tag),
    },
    async logScan(result, { via, profile, now }) {
      const cred = result.credential || {};
      const ent = result.entitlement || {};
      await db.add("scans", {
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
      scansSinceCleanup += 1;
      if (scansSinceCleanup >= 500) {
        scansSinceCleanup = 0;
        await cleanup(now);
      }
    },
    countScans: () => db.count("scans"),
    async scans() {
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
