// The dimensions an image file declares, read from its header without decoding a pixel.
//
// The browser's own decoders would allocate width*height*4 bytes for whatever a header claims
// (a 76 KB PNG can claim 1 x 40,000,000), so the size is read here first and judged by the
// caller. Only the formats Chromium's createImageBitmap decodes from a Blob are recognised:
// PNG, JPEG, GIF, WebP, BMP, AVIF. Anything else is "not an image" to the scanner.

const CHUNK = 64 * 1024;
const MAX_JPEG_SEGMENTS = 4096;
const MAX_BOX_DEPTH = 6;

// Reads a Blob in 64 KB chunks, on demand, so that walking a JPEG past a large EXIF block or
// an AVIF's boxes never reads the whole file.
class BlobBytes {
  constructor(blob) {
    this.blob = blob;
    this.size = blob.size;
    this.start = 0;
    this.bytes = new Uint8Array(0);
  }

  async ensure(offset, length) {
    if (offset < 0 || offset + length > this.size) return false;
    if (offset >= this.start && offset + length <= this.start + this.bytes.length) return true;
    const end = Math.min(this.size, offset + Math.max(length, CHUNK));
    this.bytes = new Uint8Array(await this.blob.slice(offset, end).arrayBuffer());
    this.start = offset;
    return true;
  }

  async u8(offset) {
    return (await this.ensure(offset, 1)) ? this.bytes[offset - this.start] : null;
  }

  async view(offset, length) {
    if (!(await this.ensure(offset, length))) return null;
    return new DataView(this.bytes.buffer, offset - this.start, length);
  }
}

function ascii(view, at, length) {
  let s = "";
  for (let i = 0; i < length; i++) s += String.fromCharCode(view.getUint8(at + i));
  return s;
}

async function png(src) {
  const v = await src.view(0, 24);
  if (!v || v.getUint32(0) !== 0x89504e47 || v.getUint32(4) !== 0x0d0a1a0a) return null;
  if (ascii(v, 12, 4) !== "IHDR") return null;
  return {format: "png", width: v.getUint32(16), height: v.getUint32(20)};
}

async function gif(src) {
  const v = await src.view(0, 13);
  if (!v || !/^GIF8[79]a$/.test(ascii(v, 0, 6))) return null;
  let width = v.getUint16(6, true);
  let height = v.getUint16(8, true);
  // Chromium grows the canvas to the first frame when that frame is larger than the
  // "logical screen", so the first image descriptor counts too.
  let at = 13 + ((v.getUint8(10) & 0x80) ? 3 * (2 << (v.getUint8(10) & 7)) : 0);
  for (let guard = 0; guard < 1024; guard++) {
    const tag = await src.u8(at);
    if (tag === 0x2c) {
      const d = await src.view(at + 1, 8);
      if (!d) break;
      width = Math.max(width, d.getUint16(0, true) + d.getUint16(4, true));
      height = Math.max(height, d.getUint16(2, true) + d.getUint16(6, true));
      break;
    }
    if (tag !== 0x21) break;
    at += 2;  // extension introducer and label, then sub-blocks until a zero length
    for (let len = await src.u8(at); len; len = await src.u8(at)) at += len + 1;
    at += 1;
  }
  return {format: "gif", width, height};
}

async function webp(src) {
  const v = await src.view(0, 30);
  if (!v || ascii(v, 0, 4) !== "RIFF" || ascii(v, 8, 4) !== "WEBP") return null;
  const chunk = ascii(v, 12, 4);
  if (chunk === "VP8 ") {
    return {format: "webp", width: v.getUint16(26, true) & 0x3fff, height: v.getUint16(28, true) & 0x3fff};
  }
  if (chunk === "VP8L") {
    const bits = v.getUint32(21, true);
    return {format: "webp", width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1};
  }
  if (chunk === "VP8X") {
    const w = v.getUint8(24) | (v.getUint8(25) << 8) | (v.getUint8(26) << 16);
    const h = v.getUint8(27) | (v.getUint8(28) << 8) | (v.getUint8(29) << 16);
    return {format: "webp", width: w + 1, height: h + 1};
  }
  return null;
}

async function bmp(src) {
  const v = await src.view(0, 26);
  if (!v || ascii(v, 0, 2) !== "BM") return null;
  if (v.getUint32(14, true) === 12) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
    return {format: "bmp", width: v.getUint16(18, true), height: v.getUint16(20, true)};
  }
  // Height is negative for top-down bitmaps.
  return {format: "bmp", width: Math.abs(v.getInt32(18, true)), height: Math.abs(v.getInt32(22, true))};
}

const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

async function jpeg(src) {
  const head = await src.view(0, 3);
  if (!head || head.getUint16(0) !== 0xffd8 || head.getUint8(2) !== 0xff) return null;
  let at = 2;
  for (let n = 0; n < MAX_JPEG_SEGMENTS; n++) {
    if ((await src.u8(at)) !== 0xff) return null;
    let marker = await src.u8(at + 1);
    while (marker === 0xff) marker = await src.u8(++at + 1);  // fill bytes
    if (marker === null || marker === 0xd9 || marker === 0xda) return null;  // no frame header
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; }
    const seg = await src.view(at + 2, 2);
    if (!seg || seg.getUint16(0) < 2) return null;
    if (SOF.has(marker)) {
      const f = await src.view(at + 5, 4);
      return f && {format: "jpeg", width: f.getUint16(2), height: f.getUint16(0)};
    }
    at += 2 + seg.getUint16(0);
  }
  return null;
}

// AVIF (ISO BMFF): the image spatial extents ('ispe') in meta/iprp/ipco. A grid image has one
// per tile and one for the whole: the largest is the one that costs memory.
async function avif(src) {
  const v = await src.view(0, 12);
  if (!v || ascii(v, 4, 4) !== "ftyp") return null;
  const brand = ascii(v, 8, 4);
  if (brand !== "avif" && brand !== "avis") return null;
  const found = {format: "avif", width: 0, height: 0};
  await boxes(src, 0, src.size, 0, found);
  return found.width && found.height ? found : null;
}

async function boxes(src, start, end, depth, found) {
  for (let at = start; at + 8 <= end;) {
    const h = await src.view(at, 16 <= end - at ? 16 : 8);
    if (!h) return;
    let size = h.getUint32(0);
    const type = ascii(h, 4, 4);
    let header = 8;
    if (size === 1) {
      if (h.byteLength < 16 || h.getUint32(8) !== 0) return;  // over 4 GB: not ours anyway
      size = h.getUint32(12);
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || at + size > end) return;
    if (type === "ispe") {
      const e = await src.view(at + header + 4, 8);
      if (e) {
        found.width = Math.max(found.width, e.getUint32(0));
        found.height = Math.max(found.height, e.getUint32(4));
      }
    } else if (depth < MAX_BOX_DEPTH && (type === "meta" || type === "iprp" || type === "ipco")) {
      const skip = type === "meta" ? 4 : 0;  // meta is a full box: version and flags first
      await boxes(src, at + header + skip, at + size, depth + 1, found);
    }
    at += size;
  }
}

const PARSERS = [png, jpeg, gif, webp, bmp, avif];

/** {format, width, height} declared by the file's header, or null when it is not an image in a
 * format the browser decodes (or the header is cut short). */
export async function imageDimensions(blob) {
  const src = new BlobBytes(blob);
  for (const parse of PARSERS) {
    const found = await parse(src);
    if (found) return found;
  }
  return null;
}
