// What a picked photo may cost, judged from its size and header before a pixel is decoded, and
// the passes it is decoded in.

import {imageDimensions} from "./imageheader.js";

// The browser would allocate width*height*4 bytes for whatever a header claims: the pixel cap
// bounds that (the app decodes large photos downscaled, see decodeFile); the side cap keeps
// canvases within what every browser allows; the byte cap bounds the read itself.
export const LIMITS = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  maxSide: 8192,
  maxPixels: 40_000_000,
  // Smaller than a version-1 code at one pixel a module, or thinner than 1:16: no QR code can
  // be read from it, whatever it holds.
  minSide: 21,
  maxAspect: 16,
});

// A photo is decoded at most this large first (fast, and enough for a code that fills a
// fraction of a phone photo), then, when nothing was found, once more at the larger size.
export const FILE_PASSES = Object.freeze([2048, 4096]);

/** {error} or the declared {width, height} of a picked file, from its size and header only. */
export async function judgeFile(blob) {
  if (!(blob instanceof Blob) || blob.size === 0) return {error: "not_image"};
  if (blob.size > LIMITS.maxBytes) return {error: "too_large"};
  const dims = await imageDimensions(blob);
  if (!dims || !dims.width || !dims.height) return {error: "not_image"};
  const {width, height} = dims;
  if (width > LIMITS.maxSide || height > LIMITS.maxSide || width * height > LIMITS.maxPixels) {
    return {error: "too_large"};
  }
  const short = Math.min(width, height);
  if (short < LIMITS.minSide || Math.max(width, height) / short > LIMITS.maxAspect) {
    return {error: "no_qr"};
  }
  return {width, height};
}

/** Decode `blob` (already judged: `dims`) pass by pass with readBitmap(bitmap, {width, height})
 * -> text | null. {text} or {error: "not_image" | "no_qr"}. */
export async function decodeInPasses(blob, dims, readBitmap) {
  for (const longest of FILE_PASSES) {
    const scale = Math.min(1, longest / Math.max(dims.width, dims.height));
    const size = {width: Math.max(1, Math.round(dims.width * scale)),
                  height: Math.max(1, Math.round(dims.height * scale))};
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob, {resizeWidth: size.width, resizeHeight: size.height,
                                              resizeQuality: "high"});
    } catch {
      return {error: "not_image"};  // the header looked like an image, the data is not one
    }
    let text;
    try {
      text = await readBitmap(bitmap, size);
    } finally {
      bitmap.close();
    }
    if (text) return {text};
    if (scale === 1) break;
  }
  return {error: "no_qr"};
}
