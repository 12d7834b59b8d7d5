// Mirrors shared/token.py: compact JWS, parsed (nothing trusted) and verified with WebCrypto.
// The header's alg is never trusted by itself: it must be on the allowlist and equal to the one
// algorithm the resolved key's type allows.
import { b64urlDecode, b64urlEncode } from "./b64.js";
import { TokenError, malformed } from "./errors.js";
import { ALGORITHMS } from "./keys.js";
import { JSONFormatError, isInt, isObject, loadsStrict } from "./jsonstrict.js";

export const MAX_TOKEN_LENGTH = 8192;
export const CREDENTIAL_TYP = "socpass+jwt";
export const STATUS_LIST_TYP = "statuslist+jwt";

const ALLOWED_HEADER = new Set(["alg", "kid", "typ"]);
const KID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_NUMERIC_DATE = 2 ** 53;
// P-256's group order n and n/2, big-endian (ECDSA range and low-S checks, byte by byte).
const P256_ORDER = hexBytes("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const P256_HALF = hexBytes("7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8");
const ZERO = new Uint8Array(32);
const ASCII = new TextEncoder();

function hexBytes(hex) {
  return Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));
}

// -1, 0 or 1 as big-endian a compares with b (same length).
function compare(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

// A token split and decoded, NOT verified.
export class ParsedToken {
  constructor(header, claims, signingInput, signature) {
    this.header = header;
    this.claims = claims;
    this.signingInput = signingInput;
    this.signature = signature;
  }
}

export function parse(token, { maxLength = MAX_TOKEN_LENGTH } = {}) {
  if (typeof token !== "string") throw malformed("token must be a string");
  if (token.length > maxLength) throw malformed("token too long");
  const parts = token.split(".");
  if (parts.length !== 3) throw malformed("not a compact JWS (three parts expected)");
  let decoded;
  try {
    decoded = parts.map(b64urlDecode);
  } catch (err) {
    throw malformed(`bad base64url: ${err.message}`);
  }
  return parseParts(decoded[0], decoded[1], decoded[2],
    { signingInput: ASCII.encode(parts[0] + "." + parts[1]) });
}

function loads(bytes) {
  try {
    return loadsStrict(bytes);
  } catch (err) {
    if (err instanceof JSONFormatError) throw malformed(err.message);
    throw err;
  }
}

export function parseParts(headerBytes, payloadBytes, signature, { signingInput = null } = {}) {
  const header = parseHeader(headerBytes);
  const claims = loads(payloadBytes);
  if (!isObject(claims)) throw malformed("header and payload must be JSON objects");
  if (typeof claims.iss !== "string" || !claims.iss) throw malformed("claim 'iss' missing");
  for (const name of ["iat", "nbf", "exp"]) {
    if (name in claims) {
      const value = claims[name];
      if (typeof value !== "number" || value < 0 || value >= MAX_NUMERIC_DATE) {
        throw malformed(`claim '${name}' must be a whole NumericDate`);
      }
    }
  }
  if (signingInput === null) {
    signingInput = ASCII.encode(b64urlEncode(headerBytes) + "." + b64urlEncode(payloadBytes));
  }
  return new ParsedToken(header, claims, signingInput, signature);
}

function parseHeader(headerBytes) {
  const header = loads(headerBytes);
  if (!isObject(header)) throw malformed("header and payload must be JSON objects");
  const extra = Object.keys(header).filter((k) => !ALLOWED_HEADER.has(k)).sort();
  if (extra.length) throw malformed(`forbidden header parameter(s): ${extra.join(", ")}`);
  for (const member of ["alg", "kid", "typ"]) {
    if (typeof header[member] !== "string") throw malformed(`header member '${member}' missing or not a string`);
  }
  if (!KID.test(header.kid)) throw malformed("kid has forbidden characters");
  return header;
}

// Signature and type; time claims are checked by checkTimes with a given now.
export async function verify(parsed, resolver, { typ }) {
  const { header, claims } = parsed;
  const alg = header.alg;
  if (!ALGORITHMS.includes(alg)) throw new TokenError("unsupported_algorithm", `algorithm ${alg} is not allowed`);
  const iss = claims.iss;
  if (!resolver.hasIssuer(iss)) throw new TokenError("untrusted_issuer", "issuer is not trusted");
  const vk = resolver.key(iss, header.kid);
  if (!vk) throw new TokenError("unknown_key", "no key with this kid for this issuer");
  if (vk.alg !== alg) throw new TokenError("unsupported_algorithm", `key ${vk.kid} only verifies ${vk.alg}`);
  if (!(await signatureOk(alg, vk, parsed.signingInput, parsed.signature))) {
    throw new TokenError("bad_signature", "signature does not verify");
  }
  if (header.typ !== typ) throw new TokenError("wrong_type", `typ is ${header.typ}, expected ${typ}`);
  return { header, claims, key: vk };
}

// Thrown when this browser has no Ed25519: the credential is never called valid.
export class AlgorithmUnavailable extends TokenError {
  constructor(alg) {
    super("unsupported_algorithm", `this browser cannot verify ${alg}`);
    this.unavailable = alg;
  }
}

export async function signatureOk(alg, vk, signingInput, signature) {
  if (signature.length !== 64) return false;
  if (vk.key === null) throw new AlgorithmUnavailable(alg);
  if (alg === "ES256") {
    const r = signature.subarray(0, 32), s = signature.subarray(32);
    // Range checks refuse the "psychic" (0, 0) signature; high S is the second spelling.
    if (!(compare(r, ZERO) > 0 && compare(r, P256_ORDER) < 0 && compare(s, ZERO) > 0
          && compare(s, P256_HALF) <= 0)) return false;
    return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, vk.key, signature, signingInput);
  }
  if (alg === "EdDSA") return crypto.subtle.verify({ name: "Ed25519" }, vk.key, signature, signingInput);
  return false;
}

// exp (required) and nbf (else iat) with a small leeway for clocks that drift.
export function checkTimes(claims, now, leeway) {
  const exp = claims.exp;
  if (!isInt(exp)) throw malformed("claim 'exp' missing");
  if (now >= exp + leeway) throw new TokenError("expired", "credential expired");
  const nbf = "nbf" in claims ? claims.nbf : claims.iat;
  if (isInt(nbf) && now + leeway < nbf) throw new TokenError("not_yet_valid", "credential not valid yet");
}
