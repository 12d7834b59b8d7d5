// Mirrors shared/b64.py: strict base64url without padding, one spelling per byte string.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

export function b64urlEncode(bytes) {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63];
  }
  return out;
}

// Decode, refusing padding, whitespace, foreign characters and non-zero trailing bits: a token
// has exactly one valid string form. Throws Error("not canonical base64url").
export function b64urlDecode(text) {
  if (typeof text !== "string" || text.length % 4 === 1) throw new Error("not canonical base64url");
  const full = text.length >> 2 << 2;
  const rem = text.length - full;
  const out = new Uint8Array((full >> 2) * 3 + (rem ? rem - 1 : 0));
  let o = 0;
  const v = (i) => {
    const c = text.charCodeAt(i);
    const x = c < 128 ? VALUE[c] : -1;
    if (x < 0) throw new Error("not canonical base64url");
    return x;
  };
  for (let i = 0; i < full; i += 4) {
    const n = (v(i) << 18) | (v(i + 1) << 12) | (v(i + 2) << 6) | v(i + 3);
    out[o++] = n >> 16; out[o++] = (n >> 8) & 255; out[o++] = n & 255;
  }
  if (rem === 2) {
    const a = v(full), b = v(full + 1);
    // The last character of a partial group must not carry bits beyond the data (RFC 4648 3.5).
    if (b & 15) throw new Error("not canonical base64url (trailing bits)");
    out[o++] = (a << 2) | (b >> 4);
  } else if (rem === 3) {
    const a = v(full), b = v(full + 1), c = v(full + 2);
    if (c & 3) throw new Error("not canonical base64url (trailing bits)");
    out[o++] = (a << 2) | (b >> 4); out[o++] = ((b & 15) << 4) | (c >> 2);
  }
  return out;
}
