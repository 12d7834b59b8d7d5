// Keeping the offline app's trust data fresh: on start, then every config.refresh_seconds, and
// when the network comes back; never per scan. The engine's syncPublication() does the work
// (it checks every signature before it replaces anything); this module fetches for it, stores
// its snapshot and remembers how the last refresh went, for the status bar.

// The files are on the app's own origin, config.base (e.g. "../") from the app: no CORS.
// A file the engine already has is asked with If-None-Match (and If-Modified-Since for servers
// without ETags, e.g. python -m http.server): unchanged, it costs a 304 and no body. The engine
// hands back {etag, lastModified, text} of the copy it keeps.
export function createFetchText(base) {
  const root = new URL(base, location.href);
  return async function fetchText(relPath, previous) {
    const url = new URL(relPath, root);
    if (url.origin !== location.origin) throw new Error("not this origin: " + relPath);
    const headers = {};
    if (previous && previous.etag) headers["If-None-Match"] = previous.etag;
    if (previous && previous.lastModified) headers["If-Modified-Since"] = previous.lastModified;
    // no-store: this browser's HTTP cache has no say, the engine's snapshot is the cache.
    const response = await fetch(url, { headers, cache: "no-store", credentials: "omit",
      redirect: "error" });
    if (response.status === 304) return { status: 304 };
    if (response.status === 404) return { status: 404 };
    if (!response.ok) throw new Error("HTTP " + response.status + " " + relPath);
    // The exact bytes: the engine refuses a byte-order mark or bad UTF-8 as the server does.
    const out = { status: 200, bytes: new Uint8Array(await response.arrayBuffer()) };
    const etag = response.headers.get("ETag");
    if (etag) out.etag = etag;
    const modified = response.headers.get("Last-Modified");
    if (modified) out.lastModified = modified;
    return out;
  };
}

// Why a refresh counts as failed (null: it did not): the engine's report says the previous data
// was kept, or (federal) a region could not be refreshed and keeps its older data.
export function failure(outcome) {
  const report = (outcome && outcome.report) || {};
  if (!outcome || !outcome.snapshot) return report.reason || "no data";
  if (report.ok === false) {
    return [report.source, report.reason].filter(Boolean).join(": ") || "sync failed";
  }
  const failed = (outcome.snapshot.federation && outcome.snapshot.federation.failed) || {};
  const regions = Object.keys(failed);
  if (regions.length) return regions.map((iss) => iss + ": " + failed[iss]).join("; ");
  return null;
}

// state of the last refreshes, kept with the snapshot: {ok_at, failed_at, error}
export function createSync({ config, messages, store, syncPublication, onSnapshot, onState }) {
  const fetchText = createFetchText(config.base);
  const intervalMs = Math.max(1, Number(config.refresh_seconds) || 300) * 1000;
  let running = null;
  let timer = null;
  let state = { ok_at: null, failed_at: null, error: null };

  async function load() {
    state = Object.assign(state, (await store.get("refresh")) || {});
    return store.get("snapshot");
  }

  async function once() {
    const now = Math.floor(Date.now() / 1000);
    const previous = (await store.get("snapshot")) || null;
    let outcome;
    try {
      // sources: the issuers' directories under base (default: base is the one issuer)
      outcome = await syncPublication(fetchText, previous, { now, messages, roots: config.roots,
        mode: config.mode === "federal" ? "federal" : "issuer", sources: config.sources || [""] });
    } catch (err) {
      outcome = { snapshot: previous, report: { ok: false, reason: String((err && err.message) || err) } };
    }
    const report = outcome.report || {};
    const failed = failure(outcome);
    if (outcome.snapshot && outcome.snapshot !== previous) {
      await store.put("snapshot", outcome.snapshot);
      await onSnapshot(outcome.snapshot);
    }
    if (failed) {
      state = Object.assign({}, state, { failed_at: now, error: failed });
    } else {
      state = { ok_at: now, failed_at: null, error: null };
    }
    await store.put("refresh", state);
    onState(state, report);
    return { ok: !failed, report, state };
  }

  function run() {
    // One refresh at a time; sync() while one runs waits for it.
    if (!running) running = once().finally(() => { running = null; });
    return running;
  }

  function schedule() {
    clearInterval(timer);
    timer = setInterval(run, intervalMs);
    window.addEventListener("online", run);
  }

  return { load, run, schedule, state: () => state, intervalMs };
}
