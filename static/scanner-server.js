// The scanner page of socpass-verifier serve: the shared screen (static/scan/ui/) with the
// verifier server as its engine, over HTTP on the same origin (POST /api/verify, /api/scan,
// GET /api/status). The offline app (static/scan/app.js) runs the same screen on an engine in
// the browser.
import { startScreen } from "./scan/ui/screen.js";
import { STRINGS } from "./scan/ui/text.js";

function photoRefused(key, values) {
  const fill = (text) => Object.entries(values || {}).reduce((out, [k, v]) => out.split("{" + k + "}").join(String(v)), text);
  return { photo: true, message: fill(STRINGS.ru[key]), message_en: fill(STRINGS.en[key]) };
}

async function answer(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (response.ok && body && body.verdict) return body;
  // An error JSON of the server carries message / message_en; else "Ошибка 503".
  if (body && body.message) throw Object.assign({ status: response.status }, body);
  throw { status: response.status, message: "Ошибка " + response.status, message_en: "Error " + response.status };
}

async function post(url, init) {
  let response;
  try {
    response = await fetch(url, Object.assign({ method: "POST", cache: "no-store" }, init));
  } catch (err) {
    throw new Error(); // the screen says the verifier is unreachable
  }
  return answer(response);
}

// A code left in front of the camera is one scan: the server tags each Result read from an
// image (X-Socpass-Seen) and answers 204 to frames sent with ?skip=<tag> that still show it.
let skip = null;

async function scanFrame(canvas) {
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  if (!blob) return { kind: "none" };
  const url = "/api/scan" + (skip ? "?skip=" + encodeURIComponent(skip) : "");
  let response;
  try {
    response = await fetch(url, { method: "POST", headers: { "Content-Type": "image/jpeg" },
      body: blob, cache: "no-store" });
  } catch (err) {
    return { kind: "unreachable" };
  }
  if (response.status === 204) return { kind: "same" };
  if (response.status === 503) return { kind: "unavailable" }; // no image decoding on this server
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (!response.ok || !body || !body.verdict) return { kind: "none" };
  if (body.code === "no_qr") {
    skip = null; // the code left the view: showing it again is a new scan
    return { kind: "none" };
  }
  skip = response.headers.get("X-Socpass-Seen");
  return { kind: "result", result: body };
}

startScreen({
  verifyText: (text) => post("/api/verify", {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ qr: text }),
  }),
  async verifyFile(file) {
    // Refused here, before a large upload the server would cut short (then the browser only
    // sees a broken connection, which would read as "server down").
    const limit = Number(document.body.dataset.maxBody) || Infinity;
    if (file.type && !file.type.startsWith("image/")) throw photoRefused("photo_not_image");
    if (file.size > limit) throw photoRefused("photo_too_large_mb", { mb: Math.floor(limit / 1048576) });
    const form = new FormData();
    form.append("image", file);
    try {
      return await post("/api/scan", { body: form });
    } catch (err) {
      // The server refused the picture (400, 413): a photo problem, not the server.
      if (err && err.status >= 400 && err.status < 500) throw Object.assign({ photo: true }, err);
      throw err;
    }
  },
  scanFrame,
  async status() {
    const response = await fetch("/api/status", { cache: "no-store" });
    return response.json();
  },
  venueName: (lang) => document.body.dataset[lang === "en" ? "venueEn" : "venueRu"],
  statsLink: (lang) => "/stats" + (lang === "en" ? "?lang=en" : ""),
});
