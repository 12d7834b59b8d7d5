// Scanner page of the socpass verifier: camera, handheld scanner, paste and photo, one verdict.
// Every value from the server is shown with textContent only (never as markup), after
// displayText() has made bidi overrides and control characters visible as U+FFFD.
import { createCamera } from "./scanner/camera.js";
import { displayText, fromRussianLayout } from "./scanner/safe.js";
import { audioContext, playSound } from "./scanner/sound.js";
import { STRINGS } from "./scanner/text.js";

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
};
const SHOW_FOR_MS = { accept: 6000, warn: 10000, reject: 10000, error: 6000 };
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
  section.className = "result " + shown.kind;
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
  camera.pause();
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
  camera.resume();
  focusInput();
  refreshStatus();
}

function showResult(result) {
  show(verdictKind(result), result);
}

function showError(message) {
  show("error", null, message);
}

// --- talking to the verifier ---------------------------------------------------------------
async function send(url, init) {
  let response;
  try {
    response = await fetch(url, Object.assign({ cache: "no-store" }, init));
  } catch (err) {
    showError(t("server_unreachable"));
    return;
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (response.ok && body && body.verdict) {
    showResult(body);
  } else {
    showError((body && (lang === "en" ? body.message_en : body.message)) ||
      t("error_status") + " " + response.status);
  }
}

function verifyText(raw) {
  const text = fromRussianLayout(raw.trim());
  if (!text) return;
  send("/api/verify", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ qr: text }),
  });
}

// --- the camera --------------------------------------------------------------------------------
function setCameraState(key, state) {
  const line = $("camera-state");
  line.dataset.state = state;
  line.dataset.i18n = key;
  line.textContent = t(key);
  $("viewfinder").hidden = state === "error"; // no dark box pretending to be a camera
}

const camera = createCamera($("camera"), { setState: setCameraState, onResult: showResult });

// --- the cache's freshness ----------------------------------------------------------------
let lastStatus = null;

async function refreshStatus() {
  try {
    const response = await fetch("/api/status", { cache: "no-store" });
    lastStatus = await response.json();
  } catch (err) {
    lastStatus = { unreachable: true };
  }
  renderStatus();
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
    const when = new Date(status.synced_at * 1000).toLocaleString(lang === "en" ? "en-GB" : "ru-RU",
      { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" });
    parts.push(t("status_synced", { ago: ago(status.sync_age_seconds), when: when }));
  }
  if (status.cache_error) parts.push(t("status_cache_error"));
  if (byState.unusable.length) parts.push(t("status_unusable", { issuers: byState.unusable.join(", ") }));
  if (byState.stale.length) parts.push(t("status_stale", { issuers: byState.stale.join(", ") }));
  if (!status.clock_ok) parts.push(t("status_clock"));
  // Never green unless the server says everything is fine.
  const level = status.level === "ok" && status.ok ? "ok" : status.level === "warning" ? "warning" : "error";
  if (level === "ok") parts.push(t("status_fresh"));
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
  const venue = document.body.dataset[lang === "en" ? "venueEn" : "venueRu"];
  setText("venue", venue);
  document.title = t("title") + " — " + displayText(venue);
  $("stats-link").href = "/stats" + (lang === "en" ? "?lang=en" : "");
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

document.addEventListener("DOMContentLoaded", () => {
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
    const form = new FormData();
    form.append("image", file);
    $("photo").value = "";
    send("/api/scan", { method: "POST", body: form }).then(focusInput);
  });
  $("lang").addEventListener("click", toggleLanguage);
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
});

// For tests and the operator's console: the display rules, nothing that changes state on the server.
window.socpassScanner = Object.freeze({ displayText, fromRussianLayout, showResult, verdictKind });
