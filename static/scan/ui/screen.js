// The scanner screen shared by the server page of socpass-verifier and the offline app:
// camera, handheld scanner, paste and photo, one verdict, the status bar. Where a verdict comes
// from is the engine's business (over HTTP, or in this browser): see startScreen().
// Every value from a Result is shown with textContent only (never as markup), after
// displayText() has made bidi overrides and control characters visible as U+FFFD.
import { createCamera } from "./camera.js";
import { displayText, fromRussianLayout } from "./safe.js";
import { audioContext, playSound } from "./sound.js";
import { STRINGS } from "./text.js";

const $ = (id) => document.getElementById(id);

// --- words ---------------------------------------------------------------------------------
const LANG_KEY = "socpass.lang";
let lang = "ru";
try {
  lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "ru";
} catch (err) {
  lang = "ru";
}

function t(key, values) {
  let text = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.ru[key] || key;
  for (const name in values || {}) text = text.split("{" + name + "}").join(String(values[name]));
  return text;
}

function setText(id, value) {
  $(id).textContent = displayText(value);
}

// --- formatting ------------------------------------------------------------------------------
function isoToLocal(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  return m ? m[3] + "." + m[2] + "." + m[1] : displayText(iso);
}

function yearsWord(n) {
  if (lang === "en") return n === 1 ? "year" : "years";
  const d10 = n % 10;
  const d100 = n % 100;
  if (d10 === 1 && d100 !== 11) return "год";
  if (d10 >= 2 && d10 <= 4 && (d100 < 12 || d100 > 14)) return "года";
  return "лет";
}

function ageText(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  if (!m) return "";
  const now = new Date();
  let years = now.getFullYear() - Number(m[1]);
  const month = now.getMonth() + 1;
  if (month < Number(m[2]) || (month === Number(m[2]) && now.getDate() < Number(m[3]))) years -= 1;
  if (years < 0 || years > 130) return "";
  return t("age", { n: years, years: yearsWord(years) });
}

// Times are the venue's (SOCPASS_TIMEZONE, from /api/status), whatever zone the tablet is set
// to: the same clock as the repeated-use warning and the statistics page.
function venueTime(epoch, zone) {
  const options = { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" };
  if (zone) options.timeZone = zone;
  try {
    return new Date(epoch * 1000).toLocaleString(lang === "en" ? "en-GB" : "ru-RU", options);
  } catch (err) {
    delete options.timeZone; // a zone this browser does not know
    return new Date(epoch * 1000).toLocaleString(lang === "en" ? "en-GB" : "ru-RU", options);
  }
}

function every(seconds) {
  return seconds % 60 === 0 ? t("every_minutes", { n: seconds / 60 }) : t("every_seconds", { n: seconds });
}

function ago(seconds) {
  if (seconds < 60) return t("just_now");
  if (seconds < 3600) return t("minutes_ago", { n: Math.floor(seconds / 60) });
  if (seconds < 86400) return t("hours_ago", { n: Math.floor(seconds / 3600) });
  return t("days_ago", { n: Math.floor(seconds / 86400) });
}

// --- the verdict -------------------------------------------------------------------------
const VERDICTS = {
  accept: { icon: "✔", word: "verdict_accept" },
  warn: { icon: "⚠", word: "verdict_warn" },
  reject: { icon: "✖", word: "verdict_reject" },
  error: { icon: "!", word: "verdict_error" },
  // A photo that could not be used: not "server down", and it says what to do next.
  photo: { icon: "?", word: "verdict_photo", css: "error photo" },
};
const SHOW_FOR_MS = { accept: 6000, warn: 10000, reject: 10000, error: 6000, photo: 12000 };
const IGNORE_TAPS_MS = 600; // a tap already under way when the verdict appears does not count
let shown = null; // {kind, result?, message?, at}
let hideTimer = null;

function verdictKind(result) {
  if (result.verdict !== "accept") return "reject";
  return result.warnings && result.warnings.length ? "warn" : "accept";
}

function pick(result, ru, en) {
  return lang === "en" && result[en] ? result[en] : result[ru];
}

function render() {
  if (!shown) return;
  const v = VERDICTS[shown.kind];
  const section = $("result");
  section.className = "result " + (v.css || shown.kind);
  $("verdict-icon").textContent = v.icon;
  $("verdict-word").textContent = t(v.word);
  $("holder").hidden = true;
  $("entitlement").hidden = true;
  $("warnings").hidden = true;
  const result = shown.result;
  if (!result) {
    setText("message", shown.message);
    announce(t(v.word) + ". " + displayText(shown.message));
    return;
  }
  setText("message", pick(result, "message", "message_en"));
  const cred = result.credential;
  if (cred && cred.holder) {
    const h = cred.holder;
    setText("holder-name", [h.family_name, h.given_name, h.patronymic].filter(Boolean).join(" "));
    const age = ageText(h.birth_date);
    setText("holder-birth", isoToLocal(h.birth_date) + (age ? " (" + age + ")" : ""));
    // "Многодетная семья · детей: 4", "Льготник: Инвалид I группы"
    let label = (lang === "en" && cred.type_label_en) || cred.type_label || cred.type;
    if (cred.children) label += " · " + t("children") + ": " + cred.children;
    setText("credential-type", label);
    setText("credential-valid", isoToLocal(cred.valid_until));
    // "… · Регион: 25 Приморский край": the issuing region, on every verdict with a credential
    const region = cred.issuer_region || cred.region;
    const regionText = region ? (lang === "en" ? "Region: " : "Регион: ") + region +
      (cred.region_name ? " " + cred.region_name : "") : "";
    setText("credential-issuer", [cred.issuer_name || cred.issuer, regionText].filter(Boolean).join(" · "));
    $("holder").hidden = false;
  }
  const ent = result.entitlement;
  if (ent && ent.text_ru) {
    setText("entitlement-text", pick(ent, "text_ru", "text_en"));
    const persons = Number.isInteger(ent.persons) ? ent.persons : null;
    $("persons-count").parentElement.hidden = persons === null;
    setText("persons-count", persons === null ? "" : persons);
    setText("persons-unit", t("persons_unit"));
    $("entitlement").hidden = false;
  }
  const list = $("warnings");
  list.replaceChildren();
  for (const w of result.warning_messages || []) {
    const li = document.createElement("li");
    li.textContent = displayText(lang === "en" ? w.message_en : w.message);
    list.appendChild(li);
  }
  list.hidden = list.childElementCount === 0;
  const name = cred && cred.holder ? $("holder-name").textContent : "";
  announce([t(v.word), $("message").textContent, name, ent ? $("entitlement-text").textContent : ""]
    .concat(Array.from(list.children, (li) => li.textContent)).filter(Boolean).join(". "));
}

function announce(text) {
  $("announce").textContent = text;
}

function show(kind, result, message) {
  shown = { kind: kind, result: result || null, message: message || "", at: Date.now() };
  render();
  const section = $("result");
  section.hidden = false;
  section.scrollTop = 0;
  playSound(kind);
  if (camera) camera.pause();
  const bar = $("countdown-bar");
  bar.style.transition = "none";
  bar.style.width = "100%";
  void bar.offsetWidth; // restart the transition
  const duration = SHOW_FOR_MS[kind];
  bar.style.transition = "width " + duration + "ms linear";
  bar.style.width = "0%";
  clearTimeout(hideTimer);
  hideTimer = setTimeout(dismiss, duration);
  focusInput();
}

function dismiss() {
  clearTimeout(hideTimer);
  if (!shown) return;
  shown = null;
  $("result").hidden = true;
  if (camera) camera.resume();
  focusInput();
  refreshStatus();
}

function showResult(result) {
  show(verdictKind(result), result);
}

function showError(message) {
  show("error", null, message);
}

function showPhotoFailed(reason) {
  show("photo", null, (reason ? reason + " " : "") + t("photo_next_steps"));
}

// --- asking the engine ----------------------------------------------------------------------
// engine: {verifyText(text) -> Promise<Result>, verifyFile(file) -> Promise<Result> (rejects
//          with {photo: true, message, message_en} for a photo it cannot use),
//          scanFrame(canvas) -> Promise<camera answer> (see camera.js), status() -> Promise<object>,
//          venueName(lang) -> string, statsLink(lang) -> href or null, exportStats?(lang),
//          onLanguage?(lang)}
// A promise that rejects with {message, message_en} (or an Error) becomes the ОШИБКА screen.
let engine = null;

function errorText(err) {
  if (err && (err.message || err.message_en)) return lang === "en" && err.message_en ? err.message_en : err.message;
  return t("server_unreachable");
}

async function ask(promise) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    // A photo the engine could not use is not "server down": it says what to do next.
    if (err && err.photo) showPhotoFailed(errorText(err));
    else showError(errorText(err));
    return;
  }
  if (result && result.verdict) showResult(result);
  else showError(errorText(result));
}

function verifyText(raw) {
  const text = fromRussianLayout(raw.trim());
  if (!text) return;
  ask(engine.verifyText(text));
}

// --- the camera --------------------------------------------------------------------------------
function setCameraState(key, state) {
  const line = $("camera-state");
  line.dataset.state = state;
  line.dataset.i18n = key;
  line.textContent = t(key);
  $("viewfinder").hidden = state === "error"; // no dark box pretending to be a camera
}

let camera = null;

// --- the cache's freshness ----------------------------------------------------------------
let lastStatus = null;

async function refreshStatus() {
  try {
    lastStatus = await engine.status();
  } catch (err) {
    lastStatus = { unreachable: true };
  }
  renderStatus();
}

function dateTime(seconds) {
  return new Date(seconds * 1000).toLocaleString(lang === "en" ? "en-GB" : "ru-RU",
    { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

function renderStatus() {
  const bar = $("status-bar");
  const line = $("sync-status");
  const status = lastStatus;
  if (!status) return;
  if (status.unreachable) {
    bar.className = "status-bar level-error";
    $("status-icon").textContent = "✖";
    line.textContent = t("status_unreachable");
    return;
  }
  const parts = [];
  const byState = { stale: [], unusable: [] };
  for (const issuer of status.issuers || []) {
    for (const list of issuer.status_lists || []) {
      if (byState[list.state] && byState[list.state].indexOf(issuer.iss) < 0) byState[list.state].push(issuer.iss);
    }
  }
  if (status.synced_at === null || status.synced_at === undefined) {
    parts.push(t("status_never"));
  } else {
    parts.push(t("status_synced", { ago: ago(status.sync_age_seconds), when: venueTime(status.synced_at, status.timezone) }));
  }
  // The server's background sync, or the offline app's refresh: a failure says so, and the
  // data it kept is what is used.
  const bg = status.background_sync;
  const refresh = status.refresh;
  const refreshFailed = Boolean(refresh && refresh.failed_at && status.synced_at !== null &&
    status.synced_at !== undefined);
  if (bg && bg.ok === false && bg.attempted_at) {
    parts.push(t("status_refresh_failed", { when: venueTime(bg.attempted_at, status.timezone) }));
  } else if (refreshFailed) {
    parts.push(t("status_refresh_failed_ago", { ago: ago(Math.max(0, refresh.now - refresh.failed_at)) }));
  }
  if (status.cache_error) parts.push(t("status_cache_error"));
  if (byState.unusable.length) parts.push(t("status_unusable", { issuers: byState.unusable.join(", ") }));
  if (byState.stale.length) parts.push(t("status_stale", { issuers: byState.stale.join(", ") }));
  if (!status.clock_ok) parts.push(t("status_clock"));
  // Never green unless the engine says everything is fine; and green only says "within the
  // lists' ttl", so it names how the data is kept fresh rather than calling it current. A
  // refresh that failed is never "ok": the data may be older than what was published since.
  let level = status.level === "ok" && status.ok ? "ok" : status.level === "warning" ? "warning" : "error";
  if (refreshFailed && level === "ok") level = "warning";
  if (level === "ok") {
    if (bg) parts.push(bg.enabled ? t("status_auto", { every: every(bg.interval) }) : t("status_manual"));
    else if (refresh && refresh.interval_seconds) parts.push(t("status_auto", { every: every(Math.round(refresh.interval_seconds)) }));
  }
  bar.className = "status-bar level-" + level;
  $("status-icon").textContent = level === "ok" ? "✔" : level === "warning" ? "⚠" : "✖";
  line.textContent = displayText(parts.join(" "));
}

// --- language ------------------------------------------------------------------------------
function applyLanguage() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    const key = el.dataset.i18n;
    if (key && (STRINGS.ru[key] !== undefined)) el.textContent = t(key);
  }
  const button = $("lang");
  button.textContent = t("lang_button");
  button.lang = lang === "en" ? "ru" : "en";
  const venue = engine.venueName(lang);
  setText("venue", venue);
  document.title = t("title") + (venue ? " — " + displayText(venue) : "");
  const stats = engine.statsLink(lang);
  if (stats) $("stats-link").href = stats;
  if (engine.onLanguage) engine.onLanguage(lang);
  render();
  renderStatus();
}

function toggleLanguage() {
  lang = lang === "en" ? "ru" : "en";
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch (err) {
    // private mode: the choice lasts until the page is reloaded
  }
  applyLanguage();
  focusInput();
}

// --- focus: the scanner field is always ready -----------------------------------------------
function focusInput() {
  const input = $("qr");
  if (document.activeElement !== input) input.focus({ preventScroll: true });
}

function isTextField(el) {
  return el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type !== "file" &&
    el.type !== "button" && el.type !== "submit"));
}

// Starts the screen over `engine` (see "asking the engine"); the DOM is the page's markup
// (verifier/templates/scanner.html, static/scan/index.html: the same ids).
export function startScreen(theEngine) {
  engine = theEngine;
  camera = createCamera($("camera"), { setState: setCameraState, onResult: showResult,
    scanFrame: (canvas) => engine.scanFrame(canvas), frameGapMs: engine.frameGapMs });
  const input = $("qr");
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    focusInput();
    if (text.trim()) verifyText(text);
    else dismiss(); // Enter on an empty field: next customer
  });
  input.addEventListener("paste", () => {
    // A paste is one whole code: check it at once.
    setTimeout(() => $("scan-form").requestSubmit(), 0);
  });
  $("photo").addEventListener("change", () => {
    const file = $("photo").files[0];
    if (!file) return;
    $("photo").value = "";
    ask(engine.verifyFile(file)).then(focusInput);
  });
  $("lang").addEventListener("click", toggleLanguage);
  if (engine.exportStats) {
    $("stats-link").addEventListener("click", (event) => {
      event.preventDefault();
      engine.exportStats(lang);
    });
  }
  $("next").addEventListener("click", (event) => {
    event.stopPropagation();
    dismiss();
  });
  $("result").addEventListener("click", () => {
    if (shown && Date.now() - shown.at > IGNORE_TAPS_MS) dismiss();
  });
  // A handheld scanner types wherever the focus is: a printable key outside a text field
  // brings the focus back to the scanner field first, so its digits and Enter land there.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      dismiss();
      return;
    }
    if (event.key.length === 1 && event.key !== " " && !event.ctrlKey && !event.metaKey &&
        !event.altKey && !isTextField(document.activeElement)) {
      focusInput();
    }
  }, true);
  // The first tap or key press allows sound (browsers start audio muted until then).
  const unlock = () => audioContext();
  document.addEventListener("pointerdown", unlock, { once: true, capture: true });
  document.addEventListener("keydown", unlock, { once: true, capture: true });
  window.addEventListener("focus", focusInput);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refreshStatus();
  });

  applyLanguage();
  refreshStatus();
  setInterval(refreshStatus, 30000);
  camera.start();
  focusInput();
  return { showResult, showError, refreshStatus, applyLanguage, t, language: () => lang };
}

// For tests and the operator's console: the display rules, nothing that changes state anywhere.
window.socpassScanner = Object.freeze({ displayText, fromRussianLayout, showResult, verdictKind });
