// Mirrors shared/publication.py: what an issuer publishes (metadata, the relative paths under
// its base URL) and its entitlement rules per venue profile, validated as Python validates them.
import { isInt, isObject, pyEquals } from "./jsonstrict.js";
import { BENEFICIARY, pyLen } from "./credential.js";

export const METADATA_PATH = ".well-known/socpass-issuer.json";
export const JWKS_PATH = ".well-known/jwks.json";
export const ENTITLEMENTS_PATH = ".well-known/socpass-entitlements.json";
export const TRUST_LIST_PATH = ".well-known/socpass-trustlist.jwt";
export const BUNDLE_PATH = ".well-known/socpass-bundle.jwt";
export const MAX_METADATA_BYTES = 1024 * 1024;
export const MAX_ENTITLEMENTS_BYTES = 256 * 1024;
export const ENTITLEMENTS_FORMAT = 1;
export const FAMILY = "family";
export const MAX_TEXT = 200;
export const MAX_PROFILES = 64;
export const MAX_RULES = 100;
const SEGMENT = /^[A-Za-z0-9_.-]+$/;
const PROFILE_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const KIND = /^[a-z][a-z0-9_]{0,31}$/;
const RULE_MEMBERS = new Set(["type", "categories", "entitlement"]);
const ENTITLEMENT_MEMBERS = new Set(["kind", "persons", "percent", "text_ru", "text_en"]);
const PROFILE_MEMBERS = new Set(["name_ru", "name_en", "rules"]);
// Cc: control characters; Cf: format characters (bidi overrides among them); Zl, Zp.
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export class PublicationError extends Error {}

const subset = (obj, allowed) => Object.keys(obj).every((k) => allowed.has(k));
const get = (obj, name, fallback = null) => (name in obj ? obj[name] : fallback);

export class IssuerMetadata {
  constructor(fields) { Object.assign(this, fields); }

  static fromJson(obj) {
    if (!isObject(obj)) throw new PublicationError("issuer metadata must be an object");
    for (const label of ["iss", "name", "url"]) {
      const value = get(obj, label);
      if (typeof value !== "string" || !value) throw new PublicationError(`issuer metadata: ${label} missing`);
    }
    const lists = get(obj, "status_lists", []);
    if (!Array.isArray(lists) || !lists.every((u) => typeof u === "string")) {
      throw new PublicationError("issuer metadata: status_lists must be a list of URIs");
    }
    for (const uri of lists) relativePath(obj.url, uri);
    const region = get(obj, "region"), tz = get(obj, "timezone");
    return new IssuerMetadata({ iss: obj.iss, name: obj.name, url: obj.url.replace(/\/+$/, ""),
      region: typeof region === "string" ? region : null, timezone: typeof tz === "string" ? tz : null,
      statusLists: lists });
  }
}

// The path of a published URI below the issuer's base URL; refuses anything outside it.
export function relativePath(baseUrl, uri) {
  const base = baseUrl.replace(/\/+$/, "") + "/";
  if (!uri.startsWith(base)) throw new PublicationError(`${uri} is not below the issuer URL ${baseUrl}`);
  const rel = uri.slice(base.length);
  const parts = rel.split("/");
  if (!rel || parts.some((p) => p === "" || p === "." || p === ".." || !SEGMENT.test(p))) {
    throw new PublicationError(`${uri} has an unsafe path`);
  }
  return parts.join("/");
}

function displayText(value, where) {
  if (typeof value !== "string" || !(pyLen(value) > 0 && pyLen(value) <= MAX_TEXT)) {
    throw new PublicationError(`${where}: a text of 1 to ${MAX_TEXT} characters is expected`);
  }
  if (CONTROL.test(value)) throw new PublicationError(`${where}: control or bidi character refused`);
  return value;
}

function entitlement(obj, where) {
  if (!isObject(obj) || !subset(obj, ENTITLEMENT_MEMBERS) || typeof get(obj, "kind") !== "string"
      || typeof get(obj, "text_ru") !== "string") {
    throw new PublicationError(`${where}: entitlement needs at least a kind and a text_ru`);
  }
  if (!KIND.test(obj.kind)) throw new PublicationError(`${where}: kind must be a lower-case word such as free_entry`);
  const persons = get(obj, "persons", 1);
  if (persons !== FAMILY && !(isInt(persons) && persons >= 1 && persons <= 99)) {
    throw new PublicationError(`${where}: persons must be a whole number from 1 to 99, or "family"`);
  }
  const out = { kind: obj.kind, persons };
  if ("percent" in obj) {
    const percent = obj.percent;
    if (!(isInt(percent) && percent >= 1 && percent <= 100)) {
      throw new PublicationError(`${where}: percent must be a whole number from 1 to 100`);
    }
    out.percent = percent;
  }
  out.text_ru = displayText(obj.text_ru, `${where}: text_ru`);
  out.text_en = displayText(get(obj, "text_en", obj.text_ru), `${where}: text_en`);
  return out;
}

function entitlementRule(obj, where, catalogue) {
  if (!isObject(obj) || !subset(obj, RULE_MEMBERS) || !("entitlement" in obj)) {
    throw new PublicationError(`${where}: a rule is an object with categories, entitlement, type`);
  }
  const ctype = get(obj, "type");
  let cats = get(obj, "categories");
  const known = (table, key) => typeof key === "string" && Object.prototype.hasOwnProperty.call(table, key);
  if (!known(catalogue.types, ctype)) throw new PublicationError(`${where}: unknown type`);
  if (cats !== null) {
    if (ctype !== BENEFICIARY || !Array.isArray(cats) || !cats.length
        || cats.some((c) => !known(catalogue.categories, c))) {
      throw new PublicationError(`${where}: categories must be a non-empty list of beneficiary categories`);
    }
    cats = new Set(cats);
  }
  return { type: ctype, categories: cats, entitlement: entitlement(obj.entitlement, where) };
}

export function parseProfile(name, obj, where, catalogue) {
  if (!PROFILE_NAME.test(name)) throw new PublicationError(`${where}: profile name ${name} must be a lower-case word`);
  if (!isObject(obj) || !Array.isArray(get(obj, "rules")) || !subset(obj, PROFILE_MEMBERS)) {
    throw new PublicationError(`${where}: profile ${name} must be an object with a rules list`);
  }
  if (obj.rules.length > MAX_RULES) throw new PublicationError(`${where}: profile ${name} has more than ${MAX_RULES} rules`);
  const rules = obj.rules.map((r, i) => entitlementRule(r, `${where}: ${name} rule ${i + 1}`, catalogue));
  const nameRu = displayText(get(obj, "name_ru", name), `${where}: ${name} name_ru`);
  const nameEn = displayText(get(obj, "name_en", nameRu), `${where}: ${name} name_en`);
  return { name, nameRu, nameEn, rules };
}

// {"<profile>": {"name_ru", "name_en", "rules": [...]}}, validated -> Map of profiles.
export function parseProfiles(obj, where, catalogue) {
  if (!isObject(obj)) throw new PublicationError(`${where}: must be an object of profiles`);
  const names = Object.keys(obj);
  if (names.length > MAX_PROFILES) throw new PublicationError(`${where}: more than ${MAX_PROFILES} profiles`);
  return new Map(names.map((name) => [name, parseProfile(name, obj[name], where, catalogue)]));
}

// One issuer's published rules: {iss, profiles: Map}.
export function entitlementCatalogueFromJson(obj, catalogue) {
  const keys = isObject(obj) ? Object.keys(obj).sort().join(",") : "";
  if (keys !== "format,iss,profiles") {
    throw new PublicationError("entitlement rules must be an object with format, iss and profiles");
  }
  if (!pyEquals(obj.format, ENTITLEMENTS_FORMAT)) throw new PublicationError("entitlement rules: format must be 1");
  if (typeof obj.iss !== "string" || !obj.iss) throw new PublicationError("entitlement rules: iss missing");
  return { iss: obj.iss, profiles: parseProfiles(obj.profiles, "entitlement rules", catalogue) };
}

// What `profile` grants a credential of this type and category (a fresh object), or null.
export function entitlementFor(profile, ctype, category, children) {
  for (const rule of profile.rules) {
    if (ctype === rule.type && (rule.categories === null || rule.categories.has(category))) {
      const out = { ...rule.entitlement };
      if (out.persons === FAMILY) out.persons = 2 + (children || 0);
      for (const lang of ["text_ru", "text_en"]) out[lang] = out[lang].replaceAll("{persons}", String(out.persons));
      out.profile = profile.name;
      return out;
    }
  }
  return null;
}
