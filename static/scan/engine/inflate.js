// Mirrors shared/inflate.py: decompression with a hard cap, for data that arrives from outside.
// pako is a line-by-line port of zlib, so it accepts and refuses exactly the streams Python's
// zlib does (a DEFLATE reimplementation may accept streams zlib refuses); its output is counted
// chunk by chunk and refused as soon as it passes the limit, before any more work.
import { Inflate } from "../vendor/pako-3.0.3/pako_inflate.esm.min.mjs";
import { malformed } from "./errors.js";

class TooLarge extends Error {}

// The inflated bytes, or null when the stream is invalid, truncated or followed by extra bytes
// (pako ends the stream at its final block: bytes left over are trailing garbage). Throws
// TooLarge past the limit.
function inflateOnce(data, limit, raw, zdict) {
  const inflator = new Inflate({ raw, chunkSize: Math.min(limit + 1, 65536), ...(zdict ? { dictionary: zdict } : {}) });
  let total = 0;
  const chunks = [];
  inflator.onData = (chunk) => {
    total += chunk.length;
    if (total > limit) throw new TooLarge();
    chunks.push(chunk.slice());
  };
  try {
    inflator.push(data, true);
  } catch (err) {
    if (err instanceof TooLarge) throw err;
    return null;
  }
  if (inflator.err !== 0 || inflator.strm.avail_in !== 0) return null;
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

function same(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// wbits -15: raw DEFLATE (the QR form), 15: zlib (status lists), as in Python. zeroPadding: the
// unused high bits of the last byte must be zero too (docs/spec/README.md section 15): the
// stream must NOT also end, with the same output, once the last byte's highest set bit is
// cleared; if that bit were padding, it would.
export function inflateCapped(data, { limit, wbits = 15, zdict = null, what = "compressed data", zeroPadding = false }) {
  if (!data.length) throw malformed(`${what} is empty`);
  let out;
  try {
    out = inflateOnce(data, limit, wbits < 0, zdict);
  } catch (err) {
    if (err instanceof TooLarge) throw malformed(`${what} too large when inflated`);
    throw err;
  }
  if (out === null) throw malformed(`${what} truncated, invalid or followed by extra bytes`);
  const last = data[data.length - 1];
  if (zeroPadding && last !== 0) {
    const probe = data.slice();
    probe[probe.length - 1] = last & ~(1 << (31 - Math.clz32(last)));
    let alike = null;
    try {
      alike = inflateOnce(probe, limit, wbits < 0, zdict);
    } catch (err) {
      if (!(err instanceof TooLarge)) throw err;
    }
    if (alike !== null && same(alike, out)) {
      throw malformed(`${what} is not in canonical form (unused bits of its last byte are set)`);
    }
  }
  return out;
}
