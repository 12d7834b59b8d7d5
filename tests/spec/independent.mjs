// A socpass verifier written from docs/spec/README.md alone (Node 20, no packages, no project
// code), run over the conformance vectors: the proof that the spec is enough to reach the same
// verdicts as the Python verifier. Usage: node tests/spec/independent.mjs docs/spec
// Prints one line per failing vector and a summary as JSON on the last line; exits 1 on failure.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551n;
const MAX_INPUT = 2464, MAX_DIGITS = 2400, MAX_INFLATED = 4096, MAX_LIST = 16 * 1024 * 1024;
const CATEGORIES = ["disability_1", "disability_2", "disability_3", "disabled_child",
  "combat_veteran", "svo_family", "pensioner", "low_income"];
const TYPES = ["large_family", "beneficiary"];
const ALG_OF = { EC: "ES256", OKP: "EdDSA" };

class Refused extends Error {
  constructor(code, why) { super(`${code}: ${why}`); this.code = code; }
}
const bad = (why) => new Refused("malformed", why);

// --- base64url, strict (section 4, [J2]) ------------------------------------------------------
const B64 = /^[A-Za-z0-9_-]*$/;
const ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
function b64d(text) {
  if (typeof text !== "string" || !B64.test(text) || text.length % 4 === 1) throw bad("base64url");
  const rem = text.length % 4, last = ALPHA.indexOf(text[text.length - 1]);
  if ((rem === 2 && last % 16) || (rem === 3 && last % 4)) throw bad("base64url trailing bits");
  return Buffer.from(text, "base64url");
}
const b64e = (buf) => Buffer.from(buf).toString("base64url");

// --- strict JSON (section 4.1, [P1]): integers as BigInt, other numbers as Number -------------
function parseJSON(bytes) {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) throw bad("BOM");
  let s;
  try { s = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes); } catch { throw bad("UTF-8"); }
  let i = 0;
  const ws = () => { while (i < s.length && " \t\n\r".includes(s[i])) i++; };
  const value = (depth) => {
    if (depth > 500) throw bad("too deep");
    ws();
    const c = s[i];
    if (c === "{") {
      i++; const out = {}; const seen = new Set(); ws();
      if (s[i] === "}") { i++; return out; }
      for (;;) {
        ws(); if (s[i] !== "\"") throw bad("member name");
        const k = str(); if (seen.has(k)) throw bad(`duplicate ${k}`); seen.add(k);
        ws(); if (s[i++] !== ":") throw bad(":");
        Object.defineProperty(out, k, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        ws(); if (s[i] === ",") { i++; continue; } if (s[i] === "}") { i++; return out; } throw bad("object");
      }
    }
    if (c === "[") {
      i++; const out = []; ws();
      if (s[i] === "]") { i++; return out; }
      for (;;) {
        out.push(value(depth + 1)); ws();
        if (s[i] === ",") { i++; continue; } if (s[i] === "]") { i++; return out; } throw bad("array");
      }
    }
    if (c === "\"") return str();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]]) {
      if (s.startsWith(word, i)) { i += word.length; return v; }
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(s.slice(i, i + 400));
    if (!m || !m[0]) throw bad("value");
    i += m[0].length;
    return m[2] || m[3] ? Number(m[0]) : BigInt(m[0]);
  };
  const str = () => {
    const start = i;
    i++;
    for (;;) {
      if (i >= s.length) throw bad("string");
      const ch = s[i];
      if (ch === "\"") { i++; break; }
      if (ch === "\\") { i += s[i + 1] === "u" ? 6 : 2; continue; }
      if (ch < " ") throw bad("control character");
      i++;
    }
    try { return JSON.parse(s.slice(start, i)); } catch { throw bad("string"); }
  };
  const v = value(0); ws();
  if (i !== s.length) throw bad("after the value");
  return v;
}
const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isInt = (v) => typeof v === "bigint";
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

// --- inflating with a stock inflater (sections 3.3, 9.1, 15) ---------------------------------
function complete(fn, data, opts) { try { return fn(data, opts); } catch (e) { return e; } }
function inflateExact(data, raw, limit, dictionary, canonical) {
  if (!data.length) throw bad("empty");
  const fn = raw ? zlib.inflateRawSync : zlib.inflateSync;
  const opts = { maxOutputLength: limit + 1, ...(dictionary ? { dictionary } : {}) };
  const out = complete(fn, data, opts);
  if (out instanceof Error) throw bad(`inflate: ${out.code || out.message}`);
  if (out.length > limit) throw bad("too large");
  // Node's inflater stops at the stream's end: a stream that also ends without the last byte
  // was followed by a byte.
  const shorter = complete(fn, data.subarray(0, -1), opts);
  if (!(shorter instanceof Error)) throw bad("trailing bytes");
  if (canonical && data[data.length - 1]) {
    const b = data[data.length - 1];
    const probe = Buffer.from(data); probe[probe.length - 1] = b & ~(1 << (31 - Math.clz32(b)));
    const alt = complete(fn, probe, opts);
    if (!(alt instanceof Error) && alt.equals(out)) throw bad("padding bits");
  }
  return out;
}

// --- sections 2 and 3: text to header, payload, signature bytes --------------------------------
const DICT = (dir) => fs.readFileSync(path.join(dir, "dictionary-v1.bin"));
function readText(text, dict) {
  if (text.length > MAX_INPUT) throw bad("input too long");
  text = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  if (/^[1-9]/.test(text)) {
    if (!/^[1-9][0-9]*$/.test(text)) throw bad("digits");
    if (text.length > MAX_DIGITS) throw bad("too many digits");
    let hex = BigInt(text).toString(16); if (hex.length % 2) hex = "0" + hex;
    const bin = Buffer.from(hex, "hex");
    if (bin.length < 3 || bin[0] !== 1) throw bad("version");
    const S = bin[1], sig = bin.subarray(2, 2 + S), rest = bin.subarray(2 + S);
    if (sig.length !== S || !rest.length) throw bad("truncated");
    const content = inflateExact(rest, true, MAX_INFLATED, dict, true);
    const nl = content.indexOf(0x0a);
    if (nl < 0) throw bad("no LF");
    const h = content.subarray(0, nl), p = content.subarray(nl + 1);
    return { h, p, sig, signingInput: Buffer.from(b64e(h) + "." + b64e(p), "ascii") };
  }
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(text)) throw bad("not a token");
  const parts = text.split(".");
  return { h: b64d(parts[0]), p: b64d(parts[1]), sig: b64d(parts[2]),
           signingInput: Buffer.from(parts[0] + "." + parts[1], "ascii") };
}

// --- sections 4 to 6: a JWS against a key store {iss: {kid: {alg, key}}} ---------------------
const KID = /^[A-Za-z0-9_-]{1,64}$/;
function parseJws({ h, p, sig, signingInput }) {
  const header = parseJSON(h);
  if (!isObj(header)) throw bad("header");
  for (const k of Object.keys(header)) if (!["alg", "kid", "typ"].includes(k)) throw bad(`header ${k}`);
  for (const k of ["alg", "kid", "typ"]) if (typeof header[k] !== "string") throw bad(`header ${k}`);
  if (!KID.test(header.kid)) throw bad("kid");
  const claims = parseJSON(p);
  if (!isObj(claims)) throw bad("payload");
  if (typeof claims.iss !== "string" || !claims.iss) throw bad("iss");
  for (const k of ["iat", "nbf", "exp"]) {
    if (has(claims, k) && !(isInt(claims[k]) && claims[k] >= 0n && claims[k] < 2n ** 53n)) throw bad(k);
  }
  return { header, claims, sig, signingInput };
}
function verifyJws(t, store, typ) {
  const { header, claims, sig, signingInput } = t;
  if (!["ES256", "EdDSA"].includes(header.alg)) throw new Refused("unsupported_algorithm", header.alg);
  if (!store.has(claims.iss)) throw new Refused("untrusted_issuer", claims.iss);
  const k = store.get(claims.iss).get(header.kid);
  if (!k) throw new Refused("unknown_key", header.kid);
  if (k.alg !== header.alg) throw new Refused("unsupported_algorithm", "key type");
  if (!signatureOk(k, signingInput, sig)) throw new Refused("bad_signature", "signature");
  if (header.typ !== typ) throw new Refused("wrong_type", header.typ);
  return claims;
}
function signatureOk(k, data, sig) {
  if (sig.length !== 64) return false;
  if (k.alg === "ES256") {
    const r = BigInt("0x" + sig.subarray(0, 32).toString("hex")), s = BigInt("0x" + sig.subarray(32).toString("hex"));
    if (!(r > 0n && r < N && s > 0n && s <= N / 2n)) return false;
    return crypto.verify("sha256", data, { key: k.key, dsaEncoding: "ieee-p1363" }, sig);
  }
  return crypto.verify(null, data, k.key, sig);
}
const token = (text) => parseJws(readText(text, null));

// --- section 7: claims -----------------------------------------------------------------------
const NAME_CHARS = /^[\p{L}\p{M} \-'.\u2019]+$/u;
function name(v) {
  if (typeof v !== "string" || v.normalize("NFC") !== v) return false;
  const n = [...v].length;
  return n >= 1 && n <= 64 && NAME_CHARS.test(v) && !v.startsWith(" ") && !v.endsWith(" ") && !v.includes("  ");
}
function isoDate(v) {
  const m = typeof v === "string" && /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const [y, mo, d] = [+m[1], +m[2], +m[3]];
  const days = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= days[mo - 1];
}
function credential(c) {
  const fail = (why) => { throw bad(why); };
  if (!TYPES.includes(c.t)) fail("t");
  const h = c.h;
  if (!isObj(h) || !name(h.f) || !name(h.g) || (has(h, "p") && !name(h.p))) fail("h");
  if (!isoDate(h.b)) fail("b");
  const st = isObj(c.status) ? c.status.status_list : undefined;
  if (!isObj(st) || !isInt(st.idx) || st.idx < 0n || typeof st.uri !== "string" || !st.uri) fail("status");
  if (c.t === "large_family" && !(isInt(c.n) && c.n >= 1n && c.n <= 30n)) fail("n");
  if (c.t === "beneficiary" && !CATEGORIES.includes(c.c)) fail("c");
  if (typeof c.r !== "string" || !/^[0-9]{2,3}$/.test(c.r)) fail("r");
  if (typeof c.jti !== "string" || [...c.jti].length < 8 || [...c.jti].length > 64) fail("jti");
  if (!has(c, "iat") || !has(c, "exp")) fail("iat/exp");
  return c;
}

// --- section 11: a publication ---------------------------------------------------------------
function importJwks(jwks) {
  if (!isObj(jwks) || !Array.isArray(jwks.keys) || !jwks.keys.length) throw bad("jwks");
  const out = new Map();
  for (const j of jwks.keys) {
    if (!isObj(j) || has(j, "d") || typeof j.kid !== "string" || !j.kid || out.has(j.kid)) throw bad("jwk");
    const alg = j.kty === "EC" && j.crv === "P-256" ? "ES256" : j.kty === "OKP" && j.crv === "Ed25519" ? "EdDSA" : null;
    if (!alg || (has(j, "alg") && j.alg !== alg)) throw bad("jwk type");
    const lens = alg === "ES256" ? [b64d(j.x).length, b64d(j.y).length] : [b64d(j.x).length];
    if (lens.some((n) => n !== 32)) throw bad("jwk size");
    const material = alg === "ES256" ? { kty: "EC", crv: "P-256", x: j.x, y: j.y } : { kty: "OKP", crv: "Ed25519", x: j.x };
    let key;
    try { key = crypto.createPublicKey({ key: material, format: "jwk" }); } catch { throw bad("jwk point"); }
    out.set(j.kid, { alg, key, material });
  }
  return out;
}
const PROFILE = /^[a-z][a-z0-9_]{0,31}$/;
function text(v) { return typeof v === "string" && v.length >= 1 && [...v].length <= 200 && !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(v); }
function checkRules(rules, iss) {
  const keys = isObj(rules) ? Object.keys(rules).sort().join() : "";
  if (keys !== "format,iss,profiles" || rules.format !== 1n || rules.iss !== iss || !isObj(rules.profiles)) throw bad("rules");
  if (Object.keys(rules.profiles).length > 64) throw bad("profiles");
  for (const [pname, p] of Object.entries(rules.profiles)) {
    if (!PROFILE.test(pname) || !isObj(p) || !Array.isArray(p.rules) || p.rules.length > 100) throw bad("profile");
    if (Object.keys(p).some((k) => !["name_ru", "name_en", "rules"].includes(k))) throw bad("profile member");
    for (const k of ["name_ru", "name_en"]) if (has(p, k) && !text(p[k])) throw bad("profile name");
    for (const r of p.rules) {
      if (!isObj(r) || !has(r, "entitlement") || Object.keys(r).some((k) => !["type", "categories", "entitlement"].includes(k))) throw bad("rule");
      if (!TYPES.includes(r.type)) throw bad("rule type");
      if (has(r, "categories") && (r.type !== "beneficiary" || !Array.isArray(r.categories) || !r.categories.length
          || r.categories.some((c) => !CATEGORIES.includes(c)))) throw bad("categories");
      const e = r.entitlement;
      if (!isObj(e) || Object.keys(e).some((k) => !["kind", "persons", "percent", "text_ru", "text_en"].includes(k))
          || typeof e.kind !== "string" || !PROFILE.test(e.kind) || !text(e.text_ru) || (has(e, "text_en") && !text(e.text_en))) throw bad("entitlement");
      if (has(e, "persons") && e.persons !== "family" && !(isInt(e.persons) && e.persons >= 1n && e.persons <= 99n)) throw bad("persons");
      if (has(e, "percent") && !(isInt(e.percent) && e.percent >= 1n && e.percent <= 100n)) throw bad("percent");
    }
  }
  return rules.profiles;
}
const SEGMENT = /^[A-Za-z0-9_.-]+$/;
function relPath(url, uri) {
  const base = url.replace(/\/+$/, "") + "/";
  if (!uri.startsWith(base)) throw bad("outside url");
  const segs = uri.slice(base.length).split("/");
  if (segs.some((s) => s === "." || s === ".." || !SEGMENT.test(s))) throw bad("unsafe path");
  return segs.join("/");
}
// files: {metadata, jwks, rules (or undefined), lists: uri -> token text}
function issuerFrom(meta, jwks, rules, lists) {
  if (!isObj(meta)) throw bad("metadata");
  for (const k of ["iss", "name", "url"]) if (typeof meta[k] !== "string" || !meta[k]) throw bad(`metadata ${k}`);
  const uris = has(meta, "status_lists") ? meta.status_lists : [];
  if (!Array.isArray(uris) || uris.some((u) => typeof u !== "string")) throw bad("status_lists");
  for (const u of uris) relPath(meta.url, u);
  const keys = importJwks(jwks);
  const profiles = rules === undefined ? null : checkRules(rules, meta.iss);
  const own = new Map([[meta.iss, keys]]);
  const statusLists = new Map();
  for (const uri of uris) {
    const c = verifyJws(parseJws(readListToken(lists(uri))), own, "statuslist+jwt");
    if (c.sub !== uri || !has(c, "iat")) throw bad("list sub/iat");
    if (has(c, "ttl") && !(isInt(c.ttl) && c.ttl > 0n)) throw bad("ttl");
    const sl = c.status_list;
    if (!isObj(sl) || ![1n, 2n, 4n, 8n].includes(sl.bits) || typeof sl.lst !== "string" || !sl.lst) throw bad("status_list");
    const bytes = inflateExact(b64d(sl.lst), false, MAX_LIST, null, false);
    statusLists.set(uri, { iss: c.iss, iat: c.iat, exp: c.exp, ttl: c.ttl, bits: Number(sl.bits), bytes });
  }
  return { iss: meta.iss, region: meta.region, keys, profiles, statusLists };
}
function readListToken(t) {
  t = t.replace(/^\s+|\s+$/g, "");
  if (t.length > 25165824 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(t)) throw bad("list token");
  const parts = t.split(".");
  return { h: b64d(parts[0]), p: b64d(parts[1]), sig: b64d(parts[2]), signingInput: Buffer.from(parts[0] + "." + parts[1]) };
}
function fromDirectory(dir) {
  const read = (rel) => fs.readFileSync(path.join(dir, rel));
  const meta = parseJSON(read(".well-known/socpass-issuer.json"));
  let rules;
  if (fs.existsSync(path.join(dir, ".well-known/socpass-entitlements.json"))) rules = parseJSON(read(".well-known/socpass-entitlements.json"));
  return issuerFrom(meta, parseJSON(read(".well-known/jwks.json")), rules,
    (uri) => read(relPath(meta.url, uri)).toString("latin1"));
}

// --- section 12: federation through a bundle --------------------------------------------------
const thumbprint = (m) => crypto.createHash("sha256").update(JSON.stringify(
  m.kty === "EC" ? { crv: m.crv, kty: m.kty, x: m.x, y: m.y } : { crv: m.crv, kty: m.kty, x: m.x })).digest("base64url");
function fromBundle(rootsFile, bundleFile, syncAt) {
  const roots = parseJSON(fs.readFileSync(rootsFile));
  const store = new Map([[roots.iss, importJwks(roots)]]);
  const bundle = verifyJws(parseJws(readListToken(fs.readFileSync(bundleFile, "latin1"))), store, "socpass-bundle+jwt");
  if (!isInt(bundle.exp) || BigInt(syncAt) >= bundle.exp) throw bad("bundle expired");
  const tl = verifyJws(parseJws(readListToken(bundle.trust_list)), store, "socpass-trustlist+jwt");
  if (!isInt(tl.exp) || BigInt(syncAt) >= tl.exp || !Array.isArray(tl.issuers)) throw bad("trust list");
  const issuers = new Map();
  for (const e of tl.issuers) {
    if ((e.status ?? "active") !== "active") continue;
    try {
      const r = bundle.regions[e.iss];
      const lists = (uri) => r.status_lists[uri];
      const rules = bundle.entitlements[e.iss] ?? undefined;
      const got = issuerFrom(r.metadata, r.jwks, rules, lists);
      if (got.iss !== e.iss || (got.region !== undefined && got.region !== e.region)) throw bad("region");
      for (const k of got.keys.values()) if (!e.keys.includes(thumbprint(k.material))) throw bad("key not named");
      issuers.set(got.iss, got);
    } catch (err) { if (!(err instanceof Refused)) throw err; }
  }
  return { issuers, federalExp: tl.exp < bundle.exp ? tl.exp : bundle.exp };
}

// --- sections 8 to 10, 13: the decision ---------------------------------------------------------
function freshness(list, now, grace) {
  let staleAt = list.ttl !== undefined ? list.iat + list.ttl : list.exp !== undefined ? list.exp : list.iat + 86400n;
  if (list.exp !== undefined && list.exp < staleAt) staleAt = list.exp;
  if ((list.exp !== undefined && now >= list.exp) || now > staleAt + grace) return "unusable";
  return now > staleAt ? "stale" : "fresh";
}
function decide(text, now, trust, settings, venue, dict) {
  const store = new Map([...trust.issuers].map(([iss, i]) => [iss, i.keys]));
  const c = credential(verifyJws(parseJws(readText(text, dict)), store, "socpass+jwt"));
  now = BigInt(now);
  const L = BigInt(settings.leeway);
  const iats = [...trust.issuers.values()].flatMap((i) => [...i.statusLists.values()].map((l) => l.iat));
  if (iats.length && now < iats.reduce((a, b) => (a > b ? a : b)) - BigInt(settings.clock_tolerance)) return ["clock_invalid", []];
  if (now >= c.exp + L) return ["expired", []];
  const start = has(c, "nbf") ? c.nbf : c.iat;
  if (now + L < start) return ["not_yet_valid", []];
  if (trust.federalExp !== undefined && now >= trust.federalExp) return ["status_unavailable", []];
  const { idx, uri } = c.status.status_list;
  const issuer = trust.issuers.get(c.iss);
  const list = issuer.statusLists.get(uri);
  const per = 8 / (list ? list.bits : 1);
  if (!list || list.iss !== c.iss || idx >= BigInt(list.bytes.length * per)) return ["status_unavailable", []];
  const i = Number(idx), value = (list.bytes[Math.floor(i / per)] >> ((i % per) * list.bits)) & ((1 << list.bits) - 1);
  if (value === 1) return ["revoked", []];
  if (value === 2) return ["suspended", []];
  if (value !== 0) return ["status_unavailable", []];
  const state = freshness(list, now, BigInt(settings.status_grace));
  if (state === "unusable") return ["status_unavailable", []];
  const warnings = state === "stale" ? ["status_stale"] : [];
  if (issuer.profiles === null) throw new Error("an issuer without rules: the verifier's own default applies");
  const profile = issuer.profiles[venue];
  const rule = profile && profile.rules.find((r) => r.type === c.t && (!r.categories || r.categories.includes(c.c)));
  return [rule ? "valid" : "not_entitled", warnings];
}

function run(dir) {
  const doc = parseJSON(fs.readFileSync(path.join(dir, "vectors.json")));
  const dict = DICT(dir);
  const settings = Object.fromEntries(Object.entries(doc.settings).map(([k, v]) => [k, Number(v)]));
  let passed = 0, skipped = 0;
  const failed = [];
  for (const v of doc.vectors) {
    if (v.input_kind === "image") { skipped++; continue; }
    const now = Number(v.now), syncAt = Number(v.sync_at ?? v.now);
    let trust = { issuers: new Map() };
    if (v.federation) {
      try { trust = fromBundle(path.join(dir, "vectors", v.federation.roots), path.join(dir, "vectors", v.federation.bundle), syncAt); }
      catch (err) { if (!(err instanceof Refused)) throw err; }
    } else {
      for (const p of v.publications) {
        try { const i = fromDirectory(path.join(dir, "vectors", p)); trust.issuers.set(i.iss, i); }
        catch (err) { if (!(err instanceof Refused)) throw err; }
      }
    }
    let got;
    try { got = decide(v.input, now, trust, settings, v.venue ?? doc.default_venue, dict); }
    catch (err) { if (!(err instanceof Refused)) throw err; got = [err.code, []]; }
    const want = [v.expect.code, v.expect.warnings];
    if (JSON.stringify(got) === JSON.stringify(want)) passed++;
    else { failed.push(v.id); console.log(`FAIL ${v.id}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`); }
  }
  console.log(JSON.stringify({ passed, failed, skipped }));
  return failed.length ? 1 : 0;
}

process.exit(run(process.argv[2] || "docs/spec"));
