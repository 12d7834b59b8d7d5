// Mirrors shared/trustlist.py: the federal trust list (which regional issuers a venue trusts,
// signed by a pinned root) and the bundle (everything a venue needs, one request, one iat).
import { TokenError, malformed } from "./errors.js";
import { isInt, isObject } from "./jsonstrict.js";
import { jwkThumbprint } from "./keys.js";
import { parse, verify } from "./token.js";

export const TRUST_LIST_TYP = "socpass-trustlist+jwt";
export const BUNDLE_TYP = "socpass-bundle+jwt";
export const MAX_TRUST_LIST = 1024 * 1024;
export const MAX_BUNDLE = 64 * 1024 * 1024;
export const ACTIVE = "active", SUSPENDED = "suspended", WITHDRAWN = "withdrawn";
const STATUSES = [ACTIVE, SUSPENDED, WITHDRAWN];
const ISS = /^[A-Za-z0-9_.:-]{1,64}$/;
const REGION = /^[0-9]{2,3}$/;
const THUMB = /^[A-Za-z0-9_-]{43}$/;

export class TrustedIssuer {
  constructor(fields) { Object.assign(this, fields); }

  async allows(jwk) {
    return this.keyThumbprints.includes(await jwkThumbprint(jwk));
  }

  static fromJson(obj) {
    if (!isObject(obj)) throw malformed("trust list entry must be an object");
    const g = (k, d = null) => (k in obj ? obj[k] : d);
    const iss = g("iss"), name = g("name"), region = g("region"), url = g("url");
    const thumbs = g("keys"), status = g("status", ACTIVE);
    if (typeof iss !== "string" || !ISS.test(iss)) throw malformed("trust list entry: bad iss");
    if (typeof name !== "string" || !name || typeof url !== "string" || !url) {
      throw malformed(`trust list entry ${iss}: name and url required`);
    }
    if (typeof region !== "string" || !REGION.test(region)) throw malformed(`trust list entry ${iss}: bad region code`);
    if (!Array.isArray(thumbs) || !thumbs.length || !thumbs.every((t) => typeof t === "string" && THUMB.test(t))) {
      throw malformed(`trust list entry ${iss}: keys must be RFC 7638 SHA-256 thumbprints`);
    }
    if (!STATUSES.includes(status)) throw malformed(`trust list entry ${iss}: bad status`);
    return new TrustedIssuer({ iss, name, region, url: url.replace(/\/+$/, ""), keyThumbprints: thumbs, status });
  }
}

export class TrustList {
  constructor(fields) { Object.assign(this, fields); }

  entry(iss) { return this.issuers.find((e) => e.iss === iss) ?? null; }

  active() { return this.issuers.filter((e) => e.status === ACTIVE); }
}

// Signature by a pinned root, type, shape; exp when now is given.
export async function verifyTrustList(token, roots, { now = null } = {}) {
  const { claims } = await verify(parse(token, { maxLength: MAX_TRUST_LIST }), roots, { typ: TRUST_LIST_TYP });
  const seq = claims.seq, exp = claims.exp, entries = claims.issuers;
  if (!isInt(seq) || seq < 0 || !isInt(exp) || !isInt(claims.iat)) throw malformed("trust list needs iat, exp and seq");
  if (!Array.isArray(entries)) throw malformed("trust list needs an issuers list");
  const issuers = entries.map((e) => TrustedIssuer.fromJson(e));
  if (new Set(issuers.map((e) => e.iss)).size !== issuers.length) throw malformed("an issuer appears twice in the trust list");
  const rules = "rules" in claims ? claims.rules : Object.create(null);
  if (!isObject(rules)) throw malformed("trust list rules must be an object");
  if (now !== null && now >= exp) throw new TokenError("expired", "trust list expired");
  return new TrustList({ issuer: claims.iss, issuedAt: claims.iat, expiresAt: exp, sequence: seq, issuers, rules, token });
}

// The bundle's own signature and shape; the caller then verifies what it carries.
export async function verifyBundle(token, roots) {
  const { claims } = await verify(parse(token, { maxLength: MAX_BUNDLE }), roots, { typ: BUNDLE_TYP });
  const tl = claims.trust_list, regions = claims.regions;
  const ent = "entitlements" in claims ? claims.entitlements : Object.create(null);
  if (typeof tl !== "string" || !isObject(regions) || !isObject(ent)) throw malformed("bundle needs trust_list, regions and entitlements");
  if (!isInt(claims.iat) || !isInt(claims.exp)) throw malformed("bundle needs iat and exp");
  for (const [iss, region] of Object.entries(regions)) {
    if (!isObject(region) || !isObject(region.metadata) || !isObject(region.jwks) || !isObject(region.status_lists)) {
      throw malformed(`bundle region ${iss} needs metadata, jwks and status_lists`);
    }
  }
  return { issuedAt: claims.iat, expiresAt: claims.exp, trustList: tl, regions, entitlements: ent, token };
}
