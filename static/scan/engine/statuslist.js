// Mirrors shared/statuslist.py: IETF OAuth Token Status List (draft -20), read side. `bits` per
// entry, entry 0 in the least significant bits of byte 0, zlib-compressed, base64url as `lst`.
import { b64urlDecode } from "./b64.js";
import { malformed } from "./errors.js";
import { inflateCapped } from "./inflate.js";
import { isInt, isObject } from "./jsonstrict.js";
import { STATUS_LIST_TYP, parse, verify } from "./token.js";

export const VALID = 0, REVOKED = 1, SUSPENDED = 2;
export const ALLOWED_BITS = [1, 2, 4, 8];
export const MAX_LIST_BYTES = 16 * 1024 * 1024;   // 64 million entries at 2 bits; caps a zlib bomb
export const MAX_STATUS_TOKEN = 24 * 1024 * 1024; // base64url of a worst-case list

export class IndexError extends Error {}

export class StatusList {
  constructor(size, bits, data) {
    this.bits = bits;
    this.perByte = 8 / bits;
    this.mask = (1 << bits) - 1;
    this.size = size;
    this.data = data;
  }

  get(idx) {
    // A BigInt index is past any list (Python: IndexError).
    if (typeof idx !== "number" || idx < 0 || idx >= this.size) throw new IndexError(`status index ${idx} out of range`);
    const shift = (idx % this.perByte) * this.bits;
    return (this.data[Math.floor(idx / this.perByte)] >> shift) & this.mask;
  }

  static fromJson(obj, { maxBytes = MAX_LIST_BYTES } = {}) {
    if (!isObject(obj)) throw malformed("status_list must be an object");
    const { bits, lst } = obj;
    if (typeof bits !== "number" || !ALLOWED_BITS.includes(bits)) {
      throw malformed(`status_list.bits must be one of ${ALLOWED_BITS}`);
    }
    if (typeof lst !== "string" || !lst) throw malformed("status_list.lst missing");
    let compressed;
    try {
      compressed = b64urlDecode(lst);
    } catch (err) {
      throw malformed(`status_list.lst: ${err.message}`);
    }
    const data = inflateCapped(compressed, { limit: maxBytes, what: "status list" });
    return new StatusList(data.length * (8 / bits), bits, data);
  }
}

// {uri, issuer, issuedAt, expiresAt, ttl, statusList, token}
export async function verifyStatusList(token, resolver, { uri = null } = {}) {
  const verified = await verify(parse(token, { maxLength: MAX_STATUS_TOKEN }), resolver, { typ: STATUS_LIST_TYP });
  const claims = verified.claims;
  const sub = claims.sub;
  if (typeof sub !== "string" || !sub) throw malformed("status list token has no sub");
  if (uri !== null && sub !== uri) throw malformed(`status list sub ${sub} is not the expected ${uri}`);
  if (!isInt(claims.iat)) throw malformed("status list token has no iat");
  const ttl = claims.ttl ?? null;
  if (ttl !== null && (!isInt(ttl) || ttl <= 0)) throw malformed("status list ttl must be a positive whole number");
  return { uri: sub, issuer: claims.iss, issuedAt: claims.iat, expiresAt: claims.exp ?? null, ttl,
    statusList: StatusList.fromJson(claims.status_list), token };
}
