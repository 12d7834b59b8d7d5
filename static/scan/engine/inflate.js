// Mirrors shared/inflate.py: decompression with a hard cap, for data that arrives from outside.
// pako is a line-by-line port of zlib, so it accepts and refuses exactly the streams Python's
// zlib does (a DEFLATE reimplementation may accept streams zlib refuses); its output is counted
// chunk by chunk and refused as soon as it passes the limit, before any more work.
import { Inflate } from "../vendor/pako-3.0.3/pako_inflate.esm.min.mjs";
import { malformed } from "./errors.js";

class TooLarge extends Error {}

// wbits -15: raw DEFLATE (the QR form), 15: zlib (status lists), as in Python.
export function inflateCapped(data, { limit, wbits = 15, zdict = null, what = "compressed data" }) {
  const inflator = new Inflate({ raw: wbits < 0, chunkSize: Math.min(limit + 1, 65536),
    ...(zdict ? { dictionary: zdict } : {}) });
  let total = 0;
  const chunks = [];
  inflator.onData = (chunk) => {
    total += chunk.length;
    if (total > limit) throw new TooLarge();
    chunks.push(chunk.slice());
  };
  let ok;
  try {
    inflator.push(data, true);
    ok = inflator.err === 0;
  } catch (err) {
    if (err instanceof TooLarge) throw malformed(`${what} too large when inflated`);
    throw malformed(`${what} is not valid: ${err.message}`);
  }
  // pako ends the stream at its final block: bytes left over are trailing garbage, and an
  // error code is a stream that is invalid or truncated.
  if (!ok || inflator.strm.avail_in !== 0) {
    throw malformed(`${what} truncated, invalid or followed by extra bytes`);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
