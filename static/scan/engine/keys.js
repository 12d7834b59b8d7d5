// Mirrors shared/keys.py: public JWKs imported strictly into WebCrypto, thumbprints, resolution.
// The algorithm is bound to the key type here and nowhere else: an EC P-256 key only ever
// verifies ES256, an Ed25519 key only EdDSA.
import { b64urlDecode, b64urlEncode } from "./b64.js";
import { KeyError_ } from "./errors.js";
import { isObject } from "./jsonstrict.js";

export const ALGORITHMS = ["ES256", "EdDSA"];

let ed25519Support = null;

// Whether this browser's WebCrypto verifies Ed25519 (Chromium 137+, Firefox 129+, Safari 17+).
export function ed25519Available() {
  if (ed25519Support === null) {
    ed25519Support = crypto.subtle.importKey("raw", new Uint8Array(32), { name: "Ed25519" }, false, ["verify"])
      .then(() => true, () => false);
  }
  return ed25519Support;
}

export class VerificationKey {
  // key: a CryptoKey, or null for an Ed25519 key this browser cannot use (never "valid").
  constructor(iss, kid, alg, key, jwk) {
    this.iss = iss;
    this.kid = kid;
    this.alg = alg;
    this.key = key;
    this.jwk = jwk; // the public members only, as public_jwk() gives them
  }
}

function coordinate(jwk, name) {
  let raw;
  try {
    raw = b64urlDecode(jwk[name]);
  } catch (err) {
    throw new KeyError_(`invalid JWK: ${err.message}`);
  }
  return raw;
}

// Import a public JWK strictly: returns {key, alg, jwk}.
export async function publicKeyFromJwk(jwk) {
  if (!isObject(jwk)) throw new KeyError_("JWK must be an object");
  if ("d" in jwk) throw new KeyError_("refusing a JWK that carries private key material");
  const { kty, crv } = jwk;
  let key, alg, pub;
  if (kty === "EC" && crv === "P-256") {
    const x = coordinate(jwk, "x"), y = coordinate(jwk, "y");
    if (x.length !== 32 || y.length !== 32) throw new KeyError_("EC P-256 coordinates must be 32 bytes");
    const point = new Uint8Array(65);
    point[0] = 4; point.set(x, 1); point.set(y, 33);
    try {
      key = await crypto.subtle.importKey("raw", point, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    } catch (err) {
      throw new KeyError_(`invalid JWK: ${err.message}`); // a point off the curve
    }
    alg = "ES256";
    pub = { kty: "EC", crv: "P-256", x: b64urlEncode(x), y: b64urlEncode(y) };
  } else if (kty === "OKP" && crv === "Ed25519") {
    const x = coordinate(jwk, "x");
    if (x.length !== 32) throw new KeyError_("Ed25519 key must be 32 bytes");
    key = null;
    if (await ed25519Available()) {
      try {
        key = await crypto.subtle.importKey("raw", x, { name: "Ed25519" }, false, ["verify"]);
      } catch (err) {
        throw new KeyError_(`invalid JWK: ${err.message}`);
      }
    }
    alg = "EdDSA";
    pub = { kty: "OKP", crv: "Ed25519", x: b64urlEncode(x) };
  } else {
    throw new KeyError_(`unsupported key type ${kty}/${crv}`);
  }
  const declared = jwk.alg;
  if (declared !== undefined && declared !== null && declared !== alg) {
    throw new KeyError_(`JWK alg ${declared} does not match its key type (${alg})`);
  }
  return { key, alg, jwk: pub };
}

const THUMBPRINT_MEMBERS = { EC: ["crv", "kty", "x", "y"], OKP: ["crv", "kty", "x"] };

// RFC 7638 SHA-256 thumbprint, base64url.
export async function jwkThumbprint(jwk) {
  const members = THUMBPRINT_MEMBERS[jwk.kty];
  if (!members) throw new KeyError_(`unsupported kty ${jwk.kty}`);
  const canonical = "{" + members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(",") + "}";
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return b64urlEncode(new Uint8Array(digest));
}

export async function keysFromJwks(iss, jwks) {
  if (!isObject(jwks) || !Array.isArray(jwks.keys)) throw new KeyError_("JWKS must be an object with a 'keys' list");
  const out = [];
  for (const jwk of jwks.keys) {
    const { key, alg, jwk: pub } = await publicKeyFromJwk(jwk);
    const kid = jwk.kid;
    if (typeof kid !== "string" || !kid) throw new KeyError_("every JWK needs a kid");
    out.push(new VerificationKey(iss, kid, alg, key, pub));
  }
  return out;
}

// An in-memory resolver: iss -> kid -> VerificationKey.
export class StaticKeyResolver {
  constructor(keysByIssuer = {}) {
    this.byIssuer = new Map();
    for (const [iss, items] of Object.entries(keysByIssuer)) {
      if (!this.byIssuer.has(iss)) this.byIssuer.set(iss, new Map());
      for (const vk of items) this.add(vk);
    }
  }

  add(vk) {
    if (!this.byIssuer.has(vk.iss)) this.byIssuer.set(vk.iss, new Map());
    this.byIssuer.get(vk.iss).set(vk.kid, vk);
  }

  hasIssuer(iss) { return this.byIssuer.has(iss); }

  key(iss, kid) { return this.byIssuer.get(iss)?.get(kid) ?? null; }
}
