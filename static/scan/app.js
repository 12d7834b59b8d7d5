// The offline scanner app: the scanner screen shared with the server page (ui/screen.js) on an
// engine that decides in this browser (engine/, decode/), trust data in IndexedDB (store.js),
// refreshed in the background (sync.js), the whole app kept by the service worker (sw.js).
// docs/scanner.md describes it and the page API window.socpass.
import { startScreen } from "./ui/screen.js";
import { STRINGS } from "./ui/text.js";
import { openStore, scansCsv } from "./store.js";
import { createSync } from "./sync.js";
import { controlled, registering } from "./register.js";

const $ = (id) => document.getElementById(id);
const VENUE_KEY = "socpass.venue";
const WELCOMED_KEY = "socpass.app.welcomed";

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

function pad(n) {
  return String(n).padStart(2, "0");
}

// One clock on one screen: the tablet stands at the venue, so its own time zone is the venue's.
// The repeated-use warning (the engine), the status bar and the "ready" note all use it.
const VENUE_ZONE = (() => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch (err) {
    return "UTC";
  }
})();

// DD.MM.YYYY HH:MM in the tablet's time zone, as clerks write dates.
function dateTime(seconds) {
  const d = new Date(seconds * 1000);
  return pad(d.getDate()) + "." + pad(d.getMonth() + 1) + "." + d.getFullYear() + " " +
    pad(d.getHours()) + ":" + pad(d.getMinutes());
}

async function fetchJson(path) {
  // From the service worker's precache once installed; from the network on the first visit.
  const response = await fetch(path);
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

// --- the venue ------------------------------------------------------------------------------
function chooseVenue(kinds) {
  const wanted = new URL(location.href).searchParams.get("venue");
  let remembered = null;
  try {
    remembered = localStorage.getItem(VENUE_KEY);
  } catch (err) {
    remembered = null;
  }
  const venue = kinds.includes(wanted) ? wanted : kinds.includes(remembered) ? remembered : kinds[0];
  remember(venue);
  return venue;
}

function remember(venue) {
  try {
    localStorage.setItem(VENUE_KEY, venue);
  } catch (err) {
    // private mode: ?venue= in the address keeps it
  }
  // Installing from here keeps the venue: the manifest's start_url carries it.
  const link = document.querySelector('link[rel="manifest"]');
  if (link) link.href = "manifest-" + venue + ".webmanifest";
}

// --- the install prompt (the app works in a tab as well) -------------------------------------
function offerInstall() {
  let deferred = null;
  const button = $("install");
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    deferred = event;
    button.hidden = false;
  });
  button.addEventListener("click", async () => {
    if (!deferred) return;
    button.hidden = true;
    deferred.prompt();
    await deferred.userChoice.catch(() => null);
    deferred = null;
  });
  window.addEventListener("appinstalled", () => {
    button.hidden = true;
  });
}

// --- start -------------------------------------------------------------------------------------
async function start() {
  const [config, messages, store] = await Promise.all([fetchJson("config.json"),
    fetchJson("messages.json"), openStore()]);
  const venues = config.venues || [];
  const kinds = venues.map((v) => v.kind);
  let venue = chooseVenue(kinds);
  const engineModule = await import("./engine/verifier.js");
  const deviceKey = await store.deviceKey();

  let snapshot = null;
  let verifier = null;
  let resolveReady;
  const ready = new Promise((resolve) => { resolveReady = resolve; });

  // One verifier per snapshot and venue; a newer call wins if two overlap.
  let building = 0;
  async function useSnapshot(next) {
    const mine = ++building;
    let made = null;
    if (next) {
      made = engineModule.createVerifier(next, { venue, messages, deviceKey, seen: store.seen,
        builtinProfiles: config.builtin_profiles || null, roots: config.roots || null,
        settings: { timezone: VENUE_ZONE } });
      await made.ready; // the snapshot verified again, signatures included; status() after this
    }
    if (mine !== building) return;
    snapshot = next;
    verifier = made;
    if (verifier) resolveReady();
  }

  let screen = null;
  const sync = createSync({
    config, messages, store, syncPublication: engineModule.syncPublication,
    onSnapshot: useSnapshot,
    onState: () => {
      if (screen) screen.refreshStatus();
    },
  });
  await useSnapshot((await sync.load()) || null);

  async function verifyAndLog(raw, via) {
    if (!verifier) {
      throw { message: STRINGS.ru.app_no_data, message_en: STRINGS.en.app_no_data };
    }
    const now = nowSeconds();
    const result = await verifier.verify(String(raw).trim(), now);
    try {
      store.logScan(result, { via, profile: venue, now }); // written behind, not waited for
    } catch (err) {
      // The log is statistics: a full disk never holds up a verdict.
    }
    return result;
  }

  async function status() {
    const now = nowSeconds();
    const base = verifier ? verifier.status(now) : { synced_at: null, issuers: [], level: "error", ok: false };
    const state = sync.state();
    // "Last refreshed" is the last refresh that reached the publication (a 304 included: the
    // data was confirmed current then), not merely "within its ttl".
    const syncedAt = state.ok_at || base.synced_at || null;
    return Object.assign({}, base, {
      timezone: VENUE_ZONE,
      synced_at: syncedAt,
      sync_age_seconds: syncedAt === null ? null : Math.max(0, now - syncedAt),
      refresh: { ok_at: state.ok_at, failed_at: state.failed_at, error: state.error, now,
        interval_seconds: sync.intervalMs / 1000 },
      venue,
    });
  }

  // The camera and photos: decoded here (decode/), never sent anywhere.
  // One decoder for the camera and photos, made once (a photo may come while the camera starts).
  let decoder = null;
  function getDecoder() {
    if (!decoder) {
      decoder = (async () => {
        await controlled(registering);
        const { createDecoder } = await import("./decode/decoder.js");
        // publish names the vendored .wasm in config.json: never a CDN.
        return createDecoder({ wasmUrl: config.decoder_wasm ?
          new URL(config.decoder_wasm, location.href).href : undefined });
      })();
      decoder.catch(() => { decoder = null; }); // a failed start is tried again next time
    }
    return decoder;
  }
  let lastText = null;

  async function scanFrame(canvas) {
    let dec;
    try {
      dec = await getDecoder();
    } catch (err) {
      return { kind: "unavailable" };
    }
    const frame = canvas.getContext("2d", { willReadFrequently: true })
      .getImageData(0, 0, canvas.width, canvas.height);
    const text = await dec.decodeFrame(frame);
    if (!text) {
      lastText = null; // the code left the view: showing it again is a new scan
      return { kind: "none" };
    }
    if (text === lastText) return { kind: "same" };
    lastText = text;
    return { kind: "result", result: await verifyAndLog(text, "camera") };
  }

  async function verifyFile(file) {
    let found;
    try {
      found = await (await getDecoder()).decodeFile(file);
    } catch (err) {
      found = { error: "not_image" }; // the browser could not read it as a picture
    }
    if (found && typeof found.text === "string") return verifyAndLog(found.text, "image");
    const key = { not_image: "photo_not_image", too_large: "photo_too_large" }[found && found.error] ||
      "photo_no_qr";
    throw { photo: true, message: STRINGS.ru[key], message_en: STRINGS.en[key] };
  }

  async function exportStats(lang) {
    const csv = scansCsv(await store.scans(), lang);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
    link.download = "socpass-scans-" + new Date().toISOString().slice(0, 10) + ".csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  function venueName(lang) {
    const found = venues.find((v) => v.kind === venue);
    if (!found) return venue || "";
    return (lang === "en" && found.name_en) || found.name_ru || venue;
  }

  // The venue picker: the same words as the rules the ministry publishes for each kind.
  const picker = $("venue-kind");
  function fillPicker(lang) {
    picker.replaceChildren();
    for (const v of venues) {
      const option = document.createElement("option");
      option.value = v.kind;
      option.textContent = (lang === "en" && v.name_en) || v.name_ru || v.kind;
      picker.appendChild(option);
    }
    picker.value = venue;
  }
  picker.addEventListener("change", async () => {
    if (!kinds.includes(picker.value)) return;
    venue = picker.value;
    remember(venue);
    const url = new URL(location.href);
    url.searchParams.set("venue", venue);
    history.replaceState(null, "", url.href);
    await useSnapshot(snapshot);
    screen.applyLanguage();
    $("qr").focus();
  });

  function welcome(dataAt) {
    let seen = null;
    try {
      seen = localStorage.getItem(WELCOMED_KEY);
    } catch (err) {
      seen = null;
    }
    const note = $("ready-note");
    if (seen && note.hidden) return;
    const lang = screen ? screen.language() : "ru";
    note.dataset.at = String(dataAt);
    note.textContent = STRINGS[lang].app_ready.split("{when}").join(dateTime(dataAt));
    note.hidden = false;
    try {
      localStorage.setItem(WELCOMED_KEY, "1");
    } catch (err) {
      // shown again next time: harmless
    }
  }

  screen = startScreen({
    verifyText: (text) => verifyAndLog(text, "text"),
    verifyFile,
    scanFrame,
    // The decoder works in its own worker here, not on a shared server: a frame every ~40 ms
    // gets a code in view to its verdict sooner, and the page stays responsive.
    frameGapMs: 40,
    status,
    venueName,
    statsLink: () => "#",
    exportStats,
    onLanguage: (lang) => {
      fillPicker(lang);
      const note = $("ready-note");
      if (!note.hidden && note.dataset.at) {
        note.textContent = STRINGS[lang].app_ready.split("{when}").join(dateTime(Number(note.dataset.at)));
      }
    },
  });
  $("ready-note").addEventListener("click", () => { $("ready-note").hidden = true; });

  window.socpass = Object.freeze({
    ready,
    verify: (text) => verifyAndLog(text, "api"),
    sync: () => sync.run(),
    status,
  });
  document.documentElement.dataset.socpass = "started";

  const registration = await registering;
  const first = await sync.run();
  sync.schedule();
  // "Ready without network" only once the app is in the worker's cache and the data is in.
  if (registration && first.state.ok_at) {
    await navigator.serviceWorker.ready;
    welcome(first.state.ok_at);
  } else if (!registration) {
    // No service worker (plain http:// beyond this device, or a private window): it works
    // while online, and says it will not start without the network.
    const note = $("ready-note");
    note.textContent = STRINGS[screen.language()].app_no_offline;
    note.hidden = false;
  }
}

offerInstall();
start().catch((err) => {
  document.documentElement.dataset.socpass = "failed";
  const note = $("ready-note");
  note.textContent = STRINGS.ru.app_failed + " / " + STRINGS.en.app_failed;
  note.hidden = false;
  if (window.console) console.error("socpass app:", err); // no personal data: a start-up error
});
