// Mirrors shared/inflate.py: decompression with a hard cap, for data that arrives from outside.
// pako is a line-by-line port of zlib, so it accepts and refuses exactly the streams Python's
// zlib does (a DEFLATE reimplementation may accept streams zlib refuses); its output is counted
// chunk by chunk and refused as soon as it passes the limit, before any more work.
import { Inflate } from "../vendor/pako-3.0.3/pako_inflate.esm.min.mjs";
import { malformed } from "./errors.js";

class TooLarge extends Error {}

const Z_BLOCK = 5; // zlib's flush mode that stops at each block's end, padding bits not yet dropped

// The inflated bytes, or null when the stream is invalid, truncated or followed by extra bytes
// (pako ends the stream at its final block: bytes left over are trailing garbage). Throws
// TooLarge past the limit. With `atEnd`, a raw stream is inflated block by block (Z_BLOCK) and
// `atEnd(state)` is called once its final block has ended, with pako's inflate state (zlib's:
// the bits not used of the last byte in `hold` and `bits`, the last block's code lengths).
function inflateOnce(data, limit, raw, zdict, atEnd = null) {
  const options = { raw, chunkSize: Math.min(limit + 1, 65536) };
  if (zdict) options.dictionary = zdict;
  // A raw stream's distances can only reach back over the dictionary and the output so far, at
  // most limit + 1 bytes of it here: a window that holds both accepts and refuses exactly what
  // the 32 KiB one does (a distance past them is "too far back" either way), and it is a good
  // part of what setting up an inflater costs: 8 KiB for the QR text instead of 32.
  if (raw) options.windowBits = windowBitsFor((zdict ? zdict.length : 0) + limit + 1);
  const inflator = new Inflate(options);
  let total = 0;
  const chunks = [];
  inflator.onData = (chunk) => {
    total += chunk.length;
    if (total > limit) throw new TooLarge();
    chunks.push(chunk.slice());
  };
  try {
    inflator.push(data, atEnd ? Z_BLOCK : true);
  } catch (err) {
    if (err instanceof TooLarge) throw err;
    return null;
  }
  if (inflator.err !== 0 || inflator.strm.avail_in !== 0) return null;
  if (atEnd) {
    // Complete: stopped at the end of the last block (data_type: 64 last block, 128 at a block's
    // end), all input used. Bytes after it would have been read on: ended, avail_in left.
    const type = inflator.strm.data_type;
    if (inflator.ended || !(type & 64) || !(type & 128)) return null;
    atEnd(inflator.strm.state);
  } else if (!inflator.ended) {
    return null;
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

function windowBitsFor(history) {
  let bits = 9; // pako's smallest raw window
  while (bits < 15 && 1 << bits < history) bits++;
  return bits;
}

function same(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Whether the probe of docs/spec section 15 (clear the last byte's highest set bit, inflate
// again: the same content means that bit was padding) can be decided from where the stream
// ended, without inflating twice. true: refuse (a set padding bit: the probe would give the
// same content, the inflater never reads it); false: keep (the highest set bit is in the final
// end-of-block code: changed, the code becomes another symbol, which adds output, or an invalid
// or incomplete one, so the probe cannot give the same content); null: inflate the probe.
function paddingDecided(state, last) {
  const unused = state.bits; // < 8 at a block's end: zlib never reads a byte it does not need
  if (unused < 0 || unused > 7) return null;
  if ((state.hold & ((1 << unused) - 1)) !== 0) return true;
  const used = 8 - unused;
  const highest = 31 - Math.clz32(last);
  // the final block's end-of-block code, when it was a dynamic block (its code lengths are in
  // lens); a fixed block's is 0000000, which holds no set bit
  if (state.lendyn && state.lencode === state.lendyn) {
    const eob = state.lens[256];
    if (eob > 0 && highest < used && highest >= used - eob) return false;
  }
  return null;
}

// wbits -15: raw DEFLATE (the QR form), 15: zlib (status lists), as in Python. zeroPadding: the
// unused high bits of the last byte must be zero too (docs/spec/README.md section 15): the
// stream must NOT also end, with the same output, once the last byte's highest set bit is
// cleared; if that bit were padding, it would.
export function inflateCapped(data, { limit, wbits = 15, zdict = null, what = "compressed data", zeroPadding = false }) {
  if (!data.length) throw malformed(`${what} is empty`);
  const raw = wbits < 0;
  const last = data[data.length - 1];
  const probing = zeroPadding && last !== 0;
  let out, decided = null;
  try {
    out = inflateOnce(data, limit, raw, zdict,
      probing && raw ? (state) => { decided = paddingDecided(state, last); } : null);
  } catch (err) {
    if (err instanceof TooLarge) throw malformed(`${what} too large when inflated`);
    throw err;
  }
  if (out === null) throw malformed(`${what} truncated, invalid or followed by extra bytes`);
  if (probing && decided === null) {
    const probe = data.slice();
    probe[probe.length - 1] = last & ~(1 << (31 - Math.clz32(last)));
    let alike = null;
    try {
      alike = inflateOnce(probe, limit, raw, zdict);
    } catch (err) {
      if (!(err instanceof TooLarge)) throw err;
    }
    decided = alike !== null && same(alike, out);
  }
  if (decided) throw malformed(`${what} is not in canonical form (unused bits of its last byte are set)`);
  return out;
}
