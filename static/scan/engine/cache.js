// Mirrors verifier/cache.py (verifyIssuer: shared/verifiedissuer.py): the trust data in memory,
// verified end to end from the signed originals every time it is loaded (a snapshot from
// IndexedDB is trusted no more than a file): each status list must verify with its own issuer's
// keys, and in federated mode every key must be one the trust list names for its issuer.
import { SocpassError, TokenError } from "./errors.js";
import { keysFromJwks, StaticKeyResolver } from "./keys.js";
import { entitlementCatalogueFromJson, IssuerMetadata, PublicationError } from "./publication.js";
import { IndexError, verifyStatusList } from "./statuslist.js";
import { AlgorithmUnavailable } from "./token.js";
import { ACTIVE } from "./trustlist.js";

export class CacheError extends SocpassError {
  constructor(description) { super(description, "cache_refused"); }
}

// Check one issuer's originals (parsed JSON): metadata, keys, rules, every status list.
export async function verifyIssuer(iss, entry, catalogue) {
  const where = `issuer ${iss}`;
  let metadata, keys, rules = null;
  try {
    metadata = IssuerMetadata.fromJson(entry.metadata);
    keys = await keysFromJwks(iss, entry.jwks);
    if (entry.entitlements !== null && entry.entitlements !== undefined) {
      rules = entitlementCatalogueFromJson(entry.entitlements, catalogue);
    }
  } catch (err) {
    if (err instanceof PublicationError || err.code === "key") throw new CacheError(`${where}: ${err.message}`);
    throw err;
  }
  if (metadata.iss !== iss) throw new CacheError(`${where}: metadata names another issuer ${metadata.iss}`);
  if (rules !== null && rules.iss !== iss) throw new CacheError(`${where}: entitlement rules name another issuer ${rules.iss}`);
  const kids = keys.map((k) => k.kid);
  if (!kids.length || new Set(kids).size !== kids.length) {
    throw new CacheError(`${where}: the JWKS must hold at least one key and no kid twice`);
  }
  const lists = entry.status_lists;
  const listed = [...new Set(metadata.statusLists)].sort().join("\n");
  if (Object.keys(lists).sort().join("\n") !== listed) {
    throw new CacheError(`${where}: cached status lists differ from those its metadata lists`);
  }
  const resolver = new StaticKeyResolver({ [iss]: keys });
  const verified = new Map();
  for (const [uri, token] of Object.entries(lists)) {
    let slt;
    try {
      slt = await verifyStatusList(token, resolver, { uri });
    } catch (err) {
      // A browser without Ed25519 keeps an EdDSA issuer's keys (its credentials then get
      // unsupported_algorithm, never valid) but cannot use its lists.
      if (err instanceof AlgorithmUnavailable) continue;
      if (err instanceof TokenError) throw new CacheError(`${where}: status list ${uri} refused: ${err.description}`);
      throw err;
    }
    if (slt.issuer !== iss) throw new CacheError(`${where}: status list ${uri} is signed for ${slt.issuer}`);
    verified.set(uri, slt);
  }
  return { iss, source: entry.source, metadata, keys, statusLists: verified, entitlements: rules };
}

// In federated mode: the issuer is an active entry and the list names each of its keys.
export async function checkNamed(issuer, trustList) {
  const entry = trustList.entry(issuer.iss);
  if (entry === null || entry.status !== ACTIVE) {
    throw new CacheError(`issuer ${issuer.iss} is not an active region of the trust list`);
  }
  for (const key of issuer.keys) {
    if (!(await entry.allows(key.jwk))) {
      throw new CacheError(`issuer ${issuer.iss}: key ${key.kid} is not named by the trust list`);
    }
  }
}

export class TrustCache {
  // Build with TrustCache.create (federated checks are asynchronous).
  constructor(issuers, syncedAt, { error = null, trustList = null, federation = null } = {}) {
    this.issuers = new Map(issuers.map((i) => [i.iss, i]));
    this.syncedAt = syncedAt;
    this.error = error;
    this.trustList = trustList;
    this.federation = federation ?? {};
    this.resolver = new StaticKeyResolver(Object.fromEntries(issuers.map((i) => [i.iss, i.keys])));
    this.lists = new Map();
    for (const issuer of issuers) {
      for (const [uri, slt] of issuer.statusLists) {
        if (this.lists.has(uri)) throw new CacheError(`status list ${uri} is published by two issuers`);
        this.lists.set(uri, slt);
      }
    }
    this.newestIat = null;
    for (const slt of this.lists.values()) {
      if (this.newestIat === null || slt.issuedAt > this.newestIat) this.newestIat = slt.issuedAt;
    }
  }

  static async create(issuers, syncedAt, options = {}) {
    if (options.trustList) for (const issuer of issuers) await checkNamed(issuer, options.trustList);
    return new TrustCache(issuers, syncedAt, options);
  }

  static empty(error = null) { return new TrustCache([], null, { error }); }

  // KeyResolver
  hasIssuer(iss) { return this.resolver.hasIssuer(iss); }

  key(iss, kid) { return this.resolver.key(iss, kid); }

  issuer(iss) { return this.issuers.get(iss) ?? null; }

  statusList(uri) { return this.lists.get(uri) ?? null; }

  // {value, statusList} at (uri, idx); null when the list is not cached or idx is out of range.
  status(uri, idx) {
    const slt = this.lists.get(uri);
    if (!slt) return null;
    try {
      return { value: slt.statusList.get(idx), statusList: slt };
    } catch (err) {
      if (err instanceof IndexError) return null;
      throw err;
    }
  }

  // [region code, Russian name]: the trust list's, else the issuer's metadata.
  regionName(iss) {
    const entry = this.trustList ? this.trustList.entry(iss) : null;
    if (entry) return [entry.region, entry.name];
    const issuer = this.issuers.get(iss);
    if (!issuer) return [null, null];
    return [issuer.metadata.region, issuer.metadata.name];
  }

  federalExpiresAt() {
    if (!this.trustList) return null;
    const exp = this.federation.exp;
    return typeof exp === "number" ? Math.min(exp, this.trustList.expiresAt) : this.trustList.expiresAt;
  }

  trustListExpired(now) {
    const exp = this.federalExpiresAt();
    return exp !== null && now >= exp;
  }
}
