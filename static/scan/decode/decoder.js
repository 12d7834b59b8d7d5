// QR decoding in the browser: camera frames and picked photos to the QR text.
//
// BarcodeDetector where the platform's detector reads "qr_code" (Android, ChromeOS, macOS), else
// zxing-wasm (zxing-cpp in WebAssembly, vendored) in a module Web Worker, so a slow frame never
// stalls the page: frames are transferred, not copied, one is in flight at a time and a frame
// offered while one is being decoded is dropped (a camera always has a newer one).
//
// const decoder = createDecoder({wasmUrl});   // decoder.ready resolves to the backend's name;
//                                             // decoder.backend is null until then
// await decoder.decodeFrame(imageData or imageBitmap)  -> "text" | null (no code, or dropped)
// await decoder.decodeFile(blob)  -> {text} | {error: "not_image" | "too_large" | "no_qr"}
//
// decodeFrame takes ownership of what it is given: an ImageData's buffer and an ImageBitmap are
// transferred to the worker (or closed once read), so the caller must not use them afterwards.

import {decodeInPasses, judgeFile} from "./filepolicy.js";

const DEFAULT_WASM = new URL("../vendor/zxing-wasm-3.1.8/reader/zxing_reader.wasm", import.meta.url).href;

async function barcodeDetectorUsable() {
  try {
    if (typeof globalThis.BarcodeDetector !== "function") return false;
    const formats = await globalThis.BarcodeDetector.getSupportedFormats();
    return Array.isArray(formats) && formats.includes("qr_code");
  } catch {
    return false;
  }
}

function detectorBackend() {
  const detector = new globalThis.BarcodeDetector({formats: ["qr_code"]});
  const first = (found) => {
    const code = found.find((b) => b.format === "qr_code" && b.rawValue);
    return code ? code.rawValue : null;
  };
  return {
    name: "barcode-detector",
    async frame(source) {
      try {
        return first(await detector.detect(source));
      } finally {
        if (typeof source.close === "function") source.close();
      }
    },
    file(blob, dims) {
      return decodeInPasses(blob, dims, (bitmap) => this.frame(bitmap));
    },
    close() {},
  };
}

function workerBackend(wasmUrl) {
  const worker = new Worker(new URL("./worker.js", import.meta.url), {type: "module", name: "socpass-decode"});
  const pending = new Map();
  let nextId = 1;
  let broken = null;
  const call = (message, transfer = []) => {
    if (broken) return Promise.reject(broken);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, {resolve, reject});
      worker.postMessage({...message, id}, transfer);
    });
  };
  const failAll = (error) => {
    broken = error;
    for (const {reject} of pending.values()) reject(error);
    pending.clear();
  };
  worker.addEventListener("message", ({data}) => {
    const waiting = pending.get(data.id);
    if (!waiting) return;
    pending.delete(data.id);
    if (data.error) waiting.reject(new Error(data.error));
    else waiting.resolve(data.result);
  });
  worker.addEventListener("error", (event) => {
    event.preventDefault();
    failAll(new Error(`decoder worker failed: ${event.message || "could not start"}`));
  });
  const loaded = call({type: "init", wasmUrl});
  return {
    name: "zxing-wasm",
    loaded,
    frame(source) {
      if (source instanceof ImageData) {
        const {width, height, data} = source;
        return call({type: "frame", width, height, pixels: data}, [data.buffer]);
      }
      return call({type: "frame", bitmap: source}, [source]);
    },
    file(blob, dims) {
      return call({type: "file", blob, width: dims.width, height: dims.height});
    },
    close() {
      worker.terminate();
      failAll(new Error("decoder closed"));
    },
  };
}

export function createDecoder({wasmUrl = DEFAULT_WASM} = {}) {
  let backend = null;
  let busy = false;
  const ready = (async () => {
    if (await barcodeDetectorUsable()) {
      backend = detectorBackend();
    } else {
      backend = workerBackend(new URL(wasmUrl, location.href).href);
      await backend.loaded;
    }
    return backend.name;
  })();

  // A detector that says it reads qr_code may still fail at run time (Android without the
  // detection service): from then on, zxing-wasm. A frame is lost (the next one goes to the
  // worker); a photo is decoded again.
  const withFallback = async (run, again) => {
    const used = backend;
    try {
      return await run(used);
    } catch (error) {
      if (used.name !== "barcode-detector") throw error;
      if (backend === used) backend = workerBackend(new URL(wasmUrl, location.href).href);
      await backend.loaded;
      return again ? run(backend) : null;
    }
  };

  return {
    ready,
    get backend() { return backend ? backend.name : null; },
    get busy() { return busy; },

    async decodeFrame(source) {
      if (busy) {
        if (typeof source.close === "function") source.close();
        return null;
      }
      busy = true;
      try {
        await ready;
        return await withFallback((b) => b.frame(source), false);
      } finally {
        busy = false;
      }
    },

    async decodeFile(blob) {
      const judged = await judgeFile(blob);
      if (judged.error) return judged;
      await ready;
      return withFallback((b) => b.file(blob, judged), true);
    },

    close() {
      if (backend) backend.close();
    },
  };
}
