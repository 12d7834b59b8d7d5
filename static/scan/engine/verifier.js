// Mirrors verifier/service.py: the one accept/reject decision, from the synced trust data only.
// QR text -> compact JWS -> parse (malformed) -> signature, issuer, key and type -> claims
// (malformed) -> device clock (clock_invalid) -> exp/nbf -> status list (revoked, suspended,
// status_unavailable; warning status_stale) -> venue policy (not_entitled) -> repeated use at
// this device. Nothing is read from a token before its signature verifies.
import { TokenError } from "./errors.js";
import { Credential } from "./credential.js";
import { STALE, UNUSABLE, judge } from "./freshness.js";
import { FEDERAL, VenuePolicy, entitlementFor } from "./policy.js";
import { parseProfiles } from "./publication.js";
import { parse } from "./qrtext.js";
import { credentialTag, recentlyUsed } from "./repeated.js";
import { ACCEPT, REJECT, Result } from "./result.js";
import { REVOKED, SUSPENDED, VALID } from "./statuslist.js";
import { CREDENTIAL_TYP, checkTimes, verify } from "./token.js";
import { CacheError, TrustCache } from "./cache.js";
import { loadRoots, loadSnapshot } from "./sync.js";

export { syncPublication } from "./sync.js";

// verifier/config.py's defaults (a test holds the two together).
export const DEFAULT_SETTINGS = {
  leeway: 60, clock_tolerance: 300, status_grace: 86400 * 3, recent_window: 600,
  recent_policy: "warn", timezone: "Asia/Vladivostok", venue_region: null,
};

// The last day of validity: the date of exp - 1 s in the issuer's time zone (else UTC), or
// null where Python's datetime cannot hold it (past year 9999).
const DAY_FORMATS = new Map();
export function validUntil(expiresAt, tzName) {
  let fmt = DAY_FORMATS.get(tzName ?? "");
  if (!fmt) {
    const make = (timeZone) => new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    try {
      fmt = make(tzName || "UTC");
      // Python's ZoneInfo reads a file by its exact name, where Intl also takes other cases
      const resolved = fmt.resolvedOptions().timeZone;
      if (tzName && resolved !== tzName && resolved.toLowerCase() === tzName.toLowerCase()) fmt = make("UTC");
    } catch {
      fmt = make("UTC"); // an unknown or malformed zone name in metadata
    }
    DAY_FORMATS.set(tzName ?? "", fmt);
  }
  const at = new Date((expiresAt - 1) * 1000);
  if (Number.isNaN(at.getTime())) return null;
  const parts = Object.fromEntries(fmt.formatToParts(at).map((p) => [p.type, p.value]));
  const year = Number(parts.year);
  if (!(year >= 1 && year <= 9999)) return null;
  return `${parts.year.padStart(4, "0")}-${parts.month}-${parts.day}`;
}

// createVerifier(snapshot, {venue, messages, deviceKey, seen, settings, builtinProfiles, roots})
//   venue: the profile name (museum, park, ...); messages: messages.json;
//   deviceKey: a non-extractable HMAC CryptoKey; seen: {get(tag), put(tag, when, window)} (both
//   optional: without them repeated use is not looked at, like a verifier without a scan log);
//   settings: overrides of DEFAULT_SETTINGS; builtinProfiles: the catalogue for issuers that
//   publish no rules; roots: the pinned federal roots' JWKS document (federal snapshots).
export function createVerifier(snapshot, { venue, messages, deviceKey = null, seen = null, settings = {},
  builtinProfiles = null, roots = null, regionNames = null } = {}) {
  const config = { ...DEFAULT_SETTINGS, ...settings };
  const catalogue = { types: messages.types, categories: messages.categories };
  const policy = new VenuePolicy(venue, { builtinProfiles, catalogue });
  const names = regionNames ?? messages.region_names ?? {};
  let cache = TrustCache.empty();
  const ready = (async () => {
    try {
      cache = await loadSnapshot(snapshot, { roots: roots ? await loadRoots(roots) : null, catalogue });
    } catch (err) {
      cache = TrustCache.empty(err instanceof CacheError ? err.description : String(err));
    }
    return true;
  })();
  let visitorsFor = null, visitors = null;

  function publicView(credential) {
    const out = credential.toPublicDict(catalogue);
    out.type_label_en = credential.typeLabel(catalogue, "en");
    if (credential.category !== null) out.category_label_en = catalogue.categories[credential.category].en;
    const issuer = cache.issuer(credential.issuer);
    out.issuer_name = issuer ? issuer.metadata.name : null;
    const [region, regionName] = cache.regionName(credential.issuer);
    out.issuer_region = region;
    out.region_name = cache.trustList ? regionName : (names[region ?? ""] ?? null);
    out.valid_until = validUntil(credential.expiresAt, issuer ? issuer.metadata.timezone : null);
    return out;
  }

  function visitorRules(credential) {
    const tl = cache.trustList;
    if (!tl || config.venue_region === null || !("visitors" in tl.rules)) return null;
    const [region] = cache.regionName(credential.issuer);
    if (region === config.venue_region) return null;
    if (visitorsFor !== tl) {
      try {
        visitors = parseProfiles(tl.rules.visitors, "trust list visitors' rules", catalogue);
      } catch {
        visitors = new Map();
      }
      visitorsFor = tl;
    }
    return visitors;
  }

  function entitlement(credential) {
    const issuer = cache.issuer(credential.issuer);
    const rules = visitorRules(credential);
    if (rules !== null && policy.local === null) {
      const profile = rules.get(policy.name);
      const granted = profile ? entitlementFor(credential, profile) : null;
      if (granted !== null) granted.source = FEDERAL;
      return granted;
    }
    return policy.entitlement(credential, issuer ? issuer.entitlements : null);
  }

  function status(credential, now) {
    const entry = cache.status(credential.status.uri, credential.status.idx);
    if (entry === null || entry.statusList.issuer !== credential.issuer) return ["status_unavailable", []];
    // A revocation is believed however old the list.
    if (entry.value === REVOKED) return ["revoked", []];
    if (entry.value === SUSPENDED) return ["suspended", []];
    if (entry.value !== VALID) return ["status_unavailable", []];
    const state = judge(entry.statusList, now, config.status_grace).state;
    if (state === UNUSABLE) return ["status_unavailable", []];
    if (state === STALE) return [null, ["status_stale"]];
    return [null, []];
  }

  async function decide(text, now) {
    let verified, credential;
    try {
      const parsed = parse(text);
      verified = await verify(parsed, cache, { typ: CREDENTIAL_TYP });
      credential = Credential.fromClaims(verified.claims, catalogue);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      if (cache.error !== null && err.verificationCode !== "malformed") {
        // every issuer is unknown because the stored data was refused: say so
        const [ru, en] = messages.texts.cache_refused.map((t) => t.replace("{why}", cache.error));
        return [new Result(REJECT, err.verificationCode, now, { messageRu: ru, messageEn: en }), null];
      }
      if (err.unavailable) {
        const [ru, en] = messages.texts.eddsa_unavailable;
        return [new Result(REJECT, err.verificationCode, now, { messageRu: ru, messageEn: en }), null];
      }
      return [new Result(REJECT, err.verificationCode, now), null];
    }
    let view = null;
    const shown = () => (view ??= publicView(credential));
    const reject = (code, warnings = []) => [new Result(REJECT, code, now, { warnings, shown }), credential];
    const newest = cache.newestIat;
    if (newest !== null && now < newest - config.clock_tolerance) return reject("clock_invalid");
    try {
      checkTimes(verified.claims, now, config.leeway);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      return reject(err.verificationCode);
    }
    if (cache.trustListExpired(now)) {
      const [ru, en] = messages.texts.trust_list_stale;
      return [new Result(REJECT, "status_unavailable", now, { shown, messageRu: ru, messageEn: en }), credential];
    }
    const [statusCode, warnings] = status(credential, now);
    if (statusCode !== null) return reject(statusCode, warnings);
    const granted = entitlement(credential);
    if (granted === null) return reject("not_entitled", warnings);
    return [new Result(ACCEPT, "valid", now, { warnings, shown, entitlement: granted }), credential];
  }

  // A second accepted use within the window gets recently_used (verifier.service._log).
  async function remember(result, credential, now) {
    if (!deviceKey || !seen || !result.accepted || credential === null || config.recent_window <= 0) return result;
    const tag = await credentialTag(deviceKey, credential.issuer, credential.jti);
    const previous = await seen.get(tag);
    if (typeof previous === "number" && previous >= now - config.recent_window && previous <= now) {
      result = recentlyUsed(messages, result, now, previous, config);
    }
    if (result.accepted) await seen.put(tag, now, config.recent_window);
    return result;
  }

  return {
    ready,
    get cache() { return cache; },
    async verify(text, nowSeconds) {
      await ready;
      const now = Math.trunc(nowSeconds);
      let result, credential = null;
      try {
        [result, credential] = await decide(text, now);
      } catch {
        result = new Result(REJECT, "malformed", now); // an input nobody foresaw: refuse, never crash
      }
      try {
        result = await remember(result, credential, now);
      } catch {
        // the verdict stands without the store; repeated use cannot be seen meanwhile
      }
      return result.toJson(messages);
    },
    // What GET /api/status shows (verifier/devicestatus.py), once `ready` has resolved.
    status(nowSeconds) {
      const now = Math.trunc(nowSeconds);
      const grace = config.status_grace;
      let stale = cache.issuers.size === 0, unusable = false;
      const issuers = [...cache.issuers.values()].map((issuer) => {
        const lists = [...issuer.statusLists].map(([uri, slt]) => {
          const judged = judge(slt, now, grace);
          stale = stale || judged.stale;
          unusable = unusable || judged.state === UNUSABLE;
          return { uri, iat: slt.issuedAt, exp: slt.expiresAt, ttl: slt.ttl, age_seconds: judged.age,
            stale: judged.stale, state: judged.state, stale_at: judged.staleAt };
        });
        const [region, regionName] = cache.regionName(issuer.iss);
        return { iss: issuer.iss, name: issuer.metadata.name, region, region_name: regionName,
          source: issuer.source, keys: issuer.keys.length, kids: issuer.keys.map((k) => k.kid),
          status_lists: lists, entitlement_rules: policy.rulesFor(issuer.entitlements)[1] };
      });
      const clockOk = cache.newestIat === null || now >= cache.newestIat - config.clock_tolerance;
      const [nameRu, nameEn] = policy.names(cache);
      const federation = federationReport(cache, now);
      const federalExpired = Boolean(federation && federation.expired);
      const level = (cache.error !== null || cache.issuers.size === 0 || !clockOk || unusable || federalExpired)
        ? "error" : stale ? "warning" : "ok";
      return { ok: cache.error === null && !stale && clockOk && !federalExpired, level, federation,
        cache_error: cache.error, synced_at: cache.syncedAt,
        sync_age_seconds: cache.syncedAt === null ? null : now - cache.syncedAt,
        venue_profile: policy.name, venue_name: nameRu, venue_name_en: nameEn, issuers, stale,
        clock_ok: clockOk, now, recent_window: config.recent_window, recent_policy: config.recent_policy };
    },
  };
}

// verifier/federated.py federation_report: every region of the cached trust list.
function federationReport(cache, now) {
  const tl = cache.trustList;
  if (!tl) return null;
  const failed = cache.federation.failed ?? {};
  const exp = cache.federalExpiresAt();
  return { iss: tl.issuer, seq: tl.sequence, iat: tl.issuedAt, exp, via: cache.federation.via ?? null,
    source: cache.federation.source ?? null, expired: exp !== null && now >= exp,
    regions: tl.issuers.map((e) => ({ iss: e.iss, region: e.region, name: e.name, status: e.status,
      cached: cache.issuers.has(e.iss), sync_error: failed[e.iss] ?? null })) };
}

