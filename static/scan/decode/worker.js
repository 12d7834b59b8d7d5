// The decoding worker: zxing-wasm's reader build, its .wasm from this app's own origin.
//
// Messages in: {id, type: "init", wasmUrl} | {id, type: "frame", width, height, pixels} |
// {id, type: "frame", bitmap} | {id, type: "file", blob, width, height}.
// Out: {id, result} or {id, error}. See decoder.js for the page's side.

import {prepareZXingModule, readBarcodes} from "../vendor/zxing-wasm-3.1.8/es/reader/index.js";
import {decodeInPasses} from "./filepolicy.js";

// Camera frames of phones and of paper cards: one QR code wanted, never a barcode of another
// kind (a product's EAN on the same table must not answer). tryHarder, tryInvert (a phone in
// dark mode shows light-on-dark) and tryDownscale (a code held close, wider than the frame's
// short side) are what native zxing-cpp does by default and what figure 3's baseline uses;
// tryRotate only turns the image for linear codes, a QR code is found at any angle without it.
// LocalAverage is the binarizer for uneven light (glare on a phone, a shadow on a card).
const READER_OPTIONS = {
  formats: ["QRCode"],
  tryHarder: true,
  tryRotate: false,
  tryInvert: true,
  tryDownscale: true,
  binarizer: "LocalAverage",
  maxNumberOfSymbols: 1,
  textMode: "Plain",
};

// Frames come at one size, over and over: their canvas is kept. A photo's is not (up to
// 4096 px a side: 64 MB that should not outlive the photo).
let frameCanvas = null;

function pixelsOf(source, width, height, {photo = false} = {}) {
  let canvas = photo ? null : frameCanvas;
  if (!canvas || canvas.width !== width || canvas.height !== height) {
    canvas = new OffscreenCanvas(width, height);
    if (!photo) frameCanvas = canvas;
  }
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  if (photo) {
    // A code drawn on a transparent ground must read as dark on white, not on black.
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
  }
  ctx.drawImage(source, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

async function read(imageData) {
  const found = await readBarcodes(imageData, READER_OPTIONS);
  const code = found.find((r) => r.isValid && r.text);
  return code ? code.text : null;
}

async function frame({width, height, pixels, bitmap}) {
  if (bitmap) {
    try {
      return await read(pixelsOf(bitmap, bitmap.width, bitmap.height));
    } finally {
      bitmap.close();
    }
  }
  return read({width, height, data: pixels});
}

function file({blob, width, height}) {
  return decodeInPasses(blob, {width, height}, (bitmap, size) =>
    read(pixelsOf(bitmap, size.width, size.height, {photo: true})));
}

async function init({wasmUrl}) {
  const url = new URL(wasmUrl, self.location.href);
  // zxing-wasm's default is a CDN; the app must work offline and never leave its origin.
  if (url.origin !== self.location.origin) throw new Error(`wasm must come from this origin: ${url.href}`);
  await prepareZXingModule({
    overrides: {locateFile: (path, prefix) => (path.endsWith(".wasm") ? url.href : prefix + path)},
    fireImmediately: true,
  });
  return true;
}

const HANDLERS = {init, frame, file};

self.addEventListener("message", async ({data}) => {
  try {
    self.postMessage({id: data.id, result: await HANDLERS[data.type](data)});
  } catch (error) {
    self.postMessage({id: data.id, error: String(error && error.message || error)});
  }
});
