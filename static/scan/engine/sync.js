// Mirrors verifier/sync.py and verifier/federated.py (reading through shared/pubreader.py):
// refresh the trust data from an issuer's (or the federation's) publication, through the
// caller's fetchText only: the engine itself never touches the network. Everything is fetched
// and verified first; if anything fails, the previous snapshot is returned unchanged with a
// report saying why.
//
// A snapshot is plain JSON (SHELL keeps it in IndexedDB): the published files as fetched,
//   {format: 1, synced_at, mode: "issuer"|"federal", sources: ["", "ru25/"...],
//    files: {<relPath>: {text, etag, lastModified?}}, federation: {via, iat, exp, seq, failed} | null}
// and it is verified again, signatures included, every time it is loaded (loadSnapshot).
import { CacheError, TrustCache, checkNamed, verifyIssuer } from "./cache.js";
import { TokenError } from "./errors.js";
import { JSONFormatError, isObject, loadsStrict } from "./jsonstrict.js";
import { StaticKeyResolver, keysFromJwks } from "./keys.js";
import { BUNDLE_PATH, ENTITLEMENTS_PATH, IssuerMetadata, JWKS_PATH, MAX_ENTITLEMENTS_BYTES,
  MAX_METADATA_BYTES, METADATA_PATH, PublicationError, relativePath } from "./publication.js";
import { MAX_STATUS_TOKEN } from "./statuslist.js";
import { MAX_BUNDLE, verifyBundle, verifyTrustList } from "./trustlist.js";
import { judge } from "./freshness.js";
import { pyStrip } from "./qrtext.js";

export const FORMAT = 1;
export const MAX_JWKS_BYTES = 256 * 1024;
const UTF8 = new TextEncoder();
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class SyncError extends Error {
  constructor(source, reason) {
    super(`${source}: ${reason}`);
    this.source = source;
    this.reason = reason;
  }
}

class Missing extends Error {}

// obj[key] when it is obj's own member (snapshots come back from storage as plain objects)
const own = (obj, key) => (Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : null);

// The pinned roots, {"iss": "<federal iss>", "keys": [one or two public JWKs]}, as a resolver.
export async function loadRoots(doc) {
  if (!isObject(doc) || typeof doc.iss !== "string" || !doc.iss) throw new Error("a JWKS with the federal iss is expected");
  const found = await keysFromJwks(doc.iss, doc);
  if (found.length < 1 || found.length > 2) throw new Error("one or two root keys are expected");
  return new StaticKeyResolver({ [doc.iss]: found });
}

function parseJson(text, rel) {
  try {
    return loadsStrict(UTF8.encode(text));
  } catch (err) {
    if (err instanceof JSONFormatError) throw new SyncError(rel, err.message);
    throw err;
  }
}

function asToken(text, rel) {
  if (!/^[\x00-\x7f]*$/.test(text)) throw new SyncError(rel, "not a token (not ASCII)");
  return pyStrip(text);
}

// Read one file through fetchText, reusing the previous copy on 304; size counted in UTF-8 bytes.
async function readFile(fetchText, rel, limit, previousFiles, files) {
  const before = own(previousFiles, rel);
  // lastModified: for servers that answer If-Modified-Since but send no ETag
  const got = await fetchText(rel, before ? { etag: before.etag ?? null, lastModified: before.lastModified ?? null,
    text: before.text } : null);
  let text, etag, lastModified = got.lastModified ?? null;
  if (got.status === 304 && before) {
    ({ text, etag } = before);
    lastModified = before.lastModified ?? null;
  } else if (got.status === 200 && got.bytes instanceof Uint8Array) {
    // the exact bytes: a BOM or invalid UTF-8 is then refused as Python refuses it
    if (got.bytes.length > limit) throw new SyncError(rel, `larger than ${limit} bytes`);
    try {
      text = STRICT_UTF8.decode(got.bytes);
    } catch {
      throw new SyncError(rel, "not UTF-8");
    }
    etag = got.etag ?? null;
  } else if (got.status === 200 && typeof got.text === "string") {
    text = got.text;
    etag = got.etag ?? null;
  } else if (got.status === 404) {
    throw new Missing(rel);
  } else {
    throw new SyncError(rel, `HTTP ${got.status}`);
  }
  // A text of n UTF-16 units has at least n bytes: only a long one needs counting.
  if (text.length > limit || (text.length * 3 > limit && UTF8.encode(text).length > limit)) {
    throw new SyncError(rel, `larger than ${limit} bytes`);
  }
  files[rel] = lastModified === null ? { text, etag } : { text, etag, lastModified };
  return text;
}

// One issuer's originals under `prefix`: {metadata, jwks, status_lists: {uri: token}, entitlements}.
async function fetchIssuer(fetchText, prefix, previousFiles, files) {
  const read = (rel, limit) => readFile(fetchText, prefix + rel, limit, previousFiles, files);
  const metadata = parseJson(await read(METADATA_PATH, MAX_METADATA_BYTES), METADATA_PATH);
  let meta;
  try {
    meta = IssuerMetadata.fromJson(metadata);
  } catch (err) {
    if (err instanceof PublicationError) throw new SyncError(METADATA_PATH, err.message);
    throw err;
  }
  const jwks = parseJson(await read(JWKS_PATH, MAX_JWKS_BYTES), JWKS_PATH);
  const lists = {};
  for (const uri of meta.statusLists) {
    const rel = relativePath(meta.url, uri);
    lists[uri] = asToken(await read(rel, MAX_STATUS_TOKEN), rel);
  }
  let entitlements = null;
  try {
    entitlements = parseJson(await read(ENTITLEMENTS_PATH, MAX_ENTITLEMENTS_BYTES), ENTITLEMENTS_PATH);
  } catch (err) {
    if (!(err instanceof Missing)) throw err;
  }
  return { iss: meta.iss, entry: { source: prefix, metadata, jwks, status_lists: lists, entitlements } };
}

function entryFromFiles(files, prefix) {
  const text = (rel) => {
    const f = own(files, prefix + rel);
    if (!f) throw new CacheError(`${prefix + rel} missing from the snapshot`);
    return f.text;
  };
  const metadata = parseJson(text(METADATA_PATH), METADATA_PATH);
  const meta = IssuerMetadata.fromJson(metadata);
  const lists = {};
  for (const uri of meta.statusLists) lists[uri] = asToken(text(relativePath(meta.url, uri)), uri);
  const rules = own(files, prefix + ENTITLEMENTS_PATH);
  return { iss: meta.iss, entry: { source: prefix, metadata, jwks: parseJson(text(JWKS_PATH), JWKS_PATH),
    status_lists: lists, entitlements: rules ? parseJson(rules.text, ENTITLEMENTS_PATH) : null } };
}

// One region of a bundle, verified on its own and against the trust list's entry.
async function regionIssuer(bundle, entry, trustList, catalogue) {
  const region = own(bundle.regions, entry.iss);
  if (!isObject(region)) throw new SyncError(entry.iss, "the bundle carries no data for this region");
  const rules = own(bundle.entitlements, entry.iss);
  const issuer = await verifyIssuer(entry.iss, { source: BUNDLE_PATH, metadata: region.metadata,
    jwks: region.jwks, status_lists: region.status_lists, entitlements: rules }, catalogue);
  if (issuer.metadata.region !== null && issuer.metadata.region !== entry.region) {
    throw new SyncError(entry.iss, `metadata says region ${issuer.metadata.region}, the trust list says ${entry.region}`);
  }
  await checkNamed(issuer, trustList);
  return issuer;
}

// The active regions a bundle carries; a region that fails is named in `failed`.
async function bundleIssuers(bundle, trustList, catalogue, failed) {
  const issuers = [];
  for (const entry of trustList.active()) {
    try {
      issuers.push(await regionIssuer(bundle, entry, trustList, catalogue));
    } catch (err) {
      if (!(err instanceof SyncError || err instanceof CacheError || err instanceof TokenError)) throw err;
      failed[entry.iss] = err.message;
    }
  }
  return issuers;
}

// Regions kept from an earlier bundle (their own failed in the newer one), each read again
// from the root-signed bundle that brought it and checked against the current trust list.
async function keptIssuers(files, kept, trustList, roots, catalogue) {
  const issuers = [];
  for (const iss of kept) {
    const { bundle } = await readBundle(asToken(own(files, `kept/${iss}`)?.text ?? "", iss), roots, null);
    const entry = trustList.entry(iss);
    if (!entry) throw new CacheError(`kept region ${iss} is not in the trust list`);
    issuers.push(await regionIssuer(bundle, entry, trustList, catalogue));
  }
  return issuers;
}

async function readBundle(token, roots, now) {
  const bundle = await verifyBundle(token, roots);
  if (now !== null && now >= bundle.expiresAt) throw new SyncError(BUNDLE_PATH, `the bundle expired at ${bundle.expiresAt}`);
  const trustList = await verifyTrustList(bundle.trustList, roots, { now });
  return { bundle, trustList };
}

// Verify a snapshot end to end -> TrustCache (a fault throws CacheError naming where).
export async function loadSnapshot(snapshot, { roots = null, catalogue }) {
  if (!snapshot) return TrustCache.empty();
  if (!isObject(snapshot) && typeof snapshot !== "object") throw new CacheError("not a snapshot");
  if (snapshot.format !== FORMAT) throw new CacheError(`not a snapshot of format ${FORMAT}`);
  try {
    if (snapshot.mode === "federal") {
      if (!roots) throw new CacheError("the snapshot holds federal data but no pinned root is configured");
      // no now: an expired list still loads, and every check then says why
      const { bundle, trustList } = await readBundle(asToken(own(snapshot.files, BUNDLE_PATH)?.text ?? "", BUNDLE_PATH), roots, null);
      const issuers = await bundleIssuers(bundle, trustList, catalogue, {});
      const kept = (snapshot.federation?.kept ?? []).filter((iss) => !issuers.some((i) => i.iss === iss));
      issuers.push(...await keptIssuers(snapshot.files, kept, trustList, roots, catalogue));
      return await TrustCache.create(issuers, snapshot.synced_at, { trustList, federation: snapshot.federation });
    }
    const issuers = [];
    for (const prefix of snapshot.sources) {
      const { iss, entry } = entryFromFiles(snapshot.files, prefix);
      issuers.push(await verifyIssuer(iss, entry, catalogue));
    }
    return await TrustCache.create(issuers, snapshot.synced_at);
  } catch (err) {
    if (err instanceof CacheError) throw err;
    throw new CacheError(err.message);
  }
}

function summarize(cache, now, grace) {
  return {
    synced_at: cache.syncedAt,
    issuers: [...cache.issuers.values()].map((issuer) => ({
      iss: issuer.iss, name: issuer.metadata.name, source: issuer.source,
      keys: issuer.keys.map((k) => k.kid),
      status_lists: [...issuer.statusLists].map(([uri, slt]) => ({ uri, iat: slt.issuedAt,
        exp: slt.expiresAt, ttl: slt.ttl, size: slt.statusList.size, state: judge(slt, now, grace).state })),
      entitlement_profiles: issuer.entitlements ? [...issuer.entitlements.profiles.keys()].sort() : null,
    })),
  };
}

// fetchText(relPath, previous) -> {status: 200|304|404, bytes?: Uint8Array, text?, etag?,
// lastModified?}; previous: {etag, lastModified, text} of the copy kept, or null.
// bytes (response.arrayBuffer()) are read exactly as Python reads a file; text
// (response.text()) has lost a byte-order mark and any invalid UTF-8 on the way.
// -> {snapshot, report}; report.ok false (with source and reason) when the previous snapshot is kept.
// options: now (seconds), messages (messages.json, for the type and category catalogue),
// mode "issuer" (default) or "federal", sources (path prefixes of the issuers, default [""]),
// roots (the pinned federal roots' JWKS document, federal mode), statusGrace (for the report).
export async function syncPublication(fetchText, previousSnapshot, { now, messages, mode = "issuer",
  sources = [""], roots = null, statusGrace = 0 } = {}) {
  if (!messages || !messages.types) throw new TypeError("syncPublication needs {messages}: the app's messages.json");
  const catalogue = { types: messages.types, categories: messages.categories };
  const previousFiles = previousSnapshot?.files ?? {};
  // no prototype: a status list published as ".../__proto__" is a file like any other
  const files = Object.create(null);
  try {
    let previous;
    try {
      previous = await loadSnapshot(previousSnapshot, { roots: roots ? await loadRoots(roots) : null, catalogue });
    } catch {
      previous = TrustCache.empty(); // a damaged snapshot must not block the sync that repairs it
    }
    let cache, snapshot;
    if (mode === "federal") {
      if (!roots) throw new SyncError(BUNDLE_PATH, "no pinned federal root");
      const rootKeys = await loadRoots(roots);
      const text = asToken(await readFile(fetchText, BUNDLE_PATH, MAX_BUNDLE, previousFiles, files), BUNDLE_PATH);
      let bundle, trustList;
      try {
        ({ bundle, trustList } = await readBundle(text, rootKeys, now));
      } catch (err) {
        if (err instanceof TokenError) throw new SyncError(BUNDLE_PATH, `refused (${err.code}): ${err.description}`);
        throw err;
      }
      if (previous.trustList && trustList.sequence < previous.trustList.sequence) {
        throw new SyncError(BUNDLE_PATH, `trust list number ${trustList.sequence} is older than the cached one`);
      }
      const failed = {};
      const issuers = await bundleIssuers(bundle, trustList, catalogue, failed);
      // A region that failed keeps its previous data, when the new list still names it.
      const kept = [];
      for (const iss of Object.keys(failed)) {
        const old = previous.issuer(iss);
        if (old === null) continue;
        try {
          await checkNamed(old, trustList);
        } catch (err) {
          if (!(err instanceof CacheError)) throw err;
          failed[iss] += "; its previous keys are not named by the new list either";
          continue;
        }
        const from = own(previousFiles, `kept/${iss}`) ?? own(previousFiles, BUNDLE_PATH);
        files[`kept/${iss}`] = { text: from.text, etag: null };
        issuers.push(old);
        kept.push(iss);
      }
      rollbackCheck(issuers, previous);
      const federation = { source: BUNDLE_PATH, via: "bundle", iat: bundle.issuedAt,
        exp: Math.min(trustList.expiresAt, bundle.expiresAt), failed, kept };
      cache = await TrustCache.create(issuers, now, { trustList, federation });
      snapshot = { format: FORMAT, synced_at: now, mode, sources: [], files, federation };
    } else {
      const issuers = [];
      for (const prefix of sources) {
        let got;
        try {
          got = await fetchIssuer(fetchText, prefix, previousFiles, files);
        } catch (err) {
          if (err instanceof Missing) throw new SyncError(prefix + err.message, "not found");
          if (err instanceof SyncError || err instanceof PublicationError) throw new SyncError(prefix || "./", err.message);
          throw err;
        }
        const issuer = await verifyIssuer(got.iss, got.entry, catalogue);
        if (issuers.some((i) => i.iss === issuer.iss)) throw new SyncError(prefix, `issuer ${issuer.iss} was already given`);
        issuers.push(issuer);
      }
      rollbackCheck(issuers, previous);
      cache = await TrustCache.create(issuers, now);
      snapshot = { format: FORMAT, synced_at: now, mode: "issuer", sources: [...sources], files, federation: null };
    }
    return { snapshot, report: { ok: true, ...summarize(cache, now, statusGrace) } };
  } catch (err) {
    return { snapshot: previousSnapshot ?? null,
      report: { ok: false, source: err.source ?? null, reason: err.reason ?? err.message } };
  }
}

// A status list older than the cached one is a replay of older revocation data.
function rollbackCheck(issuers, previous) {
  for (const issuer of issuers) {
    for (const [uri, slt] of issuer.statusLists) {
      const old = previous.statusList(uri);
      if (old && slt.issuedAt < old.issuedAt) {
        throw new SyncError(uri, `signed at ${slt.issuedAt}, before the cached one (${old.issuedAt}): refusing older revocation data`);
      }
    }
  }
}
