// Mirrors shared/credential.py (the read side): a verified token's claims as a credential, and
// what a venue sees of it. The types and categories, with their Russian and English words, come
// from messages.json (generated from shared/credential.py): `catalogue` = {types, categories}.
import { malformed } from "./errors.js";
import { isInt, isObject } from "./jsonstrict.js";

export const LARGE_FAMILY = "large_family";
export const BENEFICIARY = "beneficiary";
export const MAX_NAME_PART = 64;
const REGION = /^[0-9]{2,3}$/;
const NAME_PUNCT = " -'.’";
const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
// Python's str.split() whitespace (names are compared with single spaces).
const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
const LETTER_OR_MARK = /^[\p{L}\p{M}]$/u;

// Python's len(): code points (a lone surrogate counts as one, as in Python).
export function pyLen(text) {
  let n = 0;
  for (const _ of text) n++; // eslint-disable-line no-unused-vars
  return n;
}

const has = (table, key) => typeof key === "string" && Object.prototype.hasOwnProperty.call(table, key);

class Invalid extends Error {}

export class Credential {
  constructor(fields) { Object.assign(this, fields); }

  // Read verified claims; anything out of shape is malformed.
  static fromClaims(claims, catalogue) {
    try {
      return fromClaims(claims, catalogue);
    } catch (err) {
      if (err instanceof Invalid) throw malformed(`credential claims out of shape: ${err.message}`);
      throw err;
    }
  }

  typeLabel(catalogue, lang = "ru") {
    let label = catalogue.types[this.type][lang];
    if (this.category) label += ": " + catalogue.categories[this.category][lang];
    return label;
  }

  // What a venue sees (the Result's credential), as shared.credential.Credential.to_public_dict.
  toPublicDict(catalogue) {
    const holder = { family_name: this.holder.familyName, given_name: this.holder.givenName };
    if (this.holder.patronymic) holder.patronymic = this.holder.patronymic;
    holder.birth_date = this.holder.birthDate;
    const out = { type: this.type, type_label: this.typeLabel(catalogue, "ru"), issuer: this.issuer,
      region: this.region, issued_at: this.issuedAt, expires_at: this.expiresAt, holder };
    if (this.children !== null) out.children = this.children;
    if (this.category !== null) {
      out.category = this.category;
      out.category_label = catalogue.categories[this.category].ru;
    }
    return out;
  }
}

// Python indexes with c["x"]: a missing member or a value of the wrong kind is an error.
function member(obj, name) {
  if (!isObject(obj)) throw new Invalid(`not an object where ${name} is read`);
  if (!(name in obj)) throw new Invalid(`missing ${name}`);
  return obj[name];
}

function fromClaims(c, catalogue) {
  const ctype = member(c, "t");
  if (!has(catalogue.types, ctype)) throw new Invalid(`unknown type ${ctype}`);
  const h = member(c, "h");
  const holder = {
    familyName: name(member(h, "f")),
    givenName: name(member(h, "g")),
    patronymic: "p" in h ? name(h.p) : null,
    birthDate: isoDate(member(h, "b")),
  };
  const st = member(member(c, "status"), "status_list");
  const idx = member(st, "idx"), uri = member(st, "uri");
  if (!isInt(idx) || idx < 0 || typeof uri !== "string" || !uri) throw new Invalid("bad status reference");
  let children = null, category = null;
  if (ctype === LARGE_FAMILY) {
    children = member(c, "n");
    if (!isInt(children) || !(children >= 1 && children <= 30)) throw new Invalid("bad children count");
  } else {
    category = member(c, "c");
    if (!has(catalogue.categories, category)) throw new Invalid(`unknown category ${category}`);
  }
  const region = member(c, "r");
  if (typeof region !== "string" || !REGION.test(region)) throw new Invalid("bad region");
  const jti = member(c, "jti");
  if (typeof jti !== "string" || !(pyLen(jti) >= 8 && pyLen(jti) <= 64)) throw new Invalid("bad jti");
  if (!isInt(member(c, "exp")) || !isInt(member(c, "iat"))) throw new Invalid("bad times");
  return new Credential({ type: ctype, holder, region, issuer: c.iss, issuedAt: c.iat, expiresAt: c.exp,
    jti, status: { idx, uri }, children, category, notBefore: "nbf" in c ? c.nbf : null });
}

// Only the one YYYY-MM-DD spelling of a real date (year 1 to 9999), as Python's
// date.fromisoformat(value).isoformat() == value.
function isoDate(value) {
  const m = typeof value === "string" ? DATE.exec(value) : null;
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
    if (y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= days) return value;
  }
  throw new Invalid("date must be YYYY-MM-DD");
}

function name(value) {
  if (typeof value !== "string") throw new Invalid("name must be a string");
  if (value !== normalizeName(value)) throw new Invalid("name not in normal form");
  return value;
}

// NFC, single spaces; refuses control, format (bidi) and symbol characters: a name is shown to
// a clerk who compares it with a passport.
export function normalizeName(value) {
  const text = value.normalize("NFC").split(PY_SPACE).filter(Boolean).join(" ");
  const length = pyLen(text);
  if (!text || length > MAX_NAME_PART) throw new Invalid(`name must have 1 to ${MAX_NAME_PART} characters`);
  for (const ch of text) {
    if (!(LETTER_OR_MARK.test(ch) || NAME_PUNCT.includes(ch))) throw new Invalid("character not allowed in a name");
  }
  return text;
}
