// Mirrors verifier/repeated.py (and the scan log's look-up of a previous use): a second use of
// one credential at this device within the window gets the warning recently_used, or the
// refusal not_entitled when the venue's policy is "reject". The device remembers a use by an
// HMAC-SHA-256 of iss and jti under its own non-extractable key: no personal data is stored,
// and the tags mean nothing on another device.
import { REJECT, Result } from "./result.js";

const UTF8 = new TextEncoder();

export async function credentialTag(deviceKey, iss, jti) {
  // iss and jti joined by NUL, which neither can contain unescaped in a verified token's meaning
  const mac = await crypto.subtle.sign("HMAC", deviceKey, UTF8.encode(`${iss}\u0000${jti}`));
  let hex = "";
  for (const b of new Uint8Array(mac)) hex += b.toString(16).padStart(2, "0");
  return hex;
}

// ["3 мин назад", "3 min ago"]
export function ago(messages, seconds) {
  const words = messages.texts.ago;
  seconds = Math.max(0, seconds);
  if (seconds < 60) return words.just_now;
  let minutes = Math.floor(seconds / 60);
  if (minutes < 60) return words.minutes.map((t) => t.replace("{minutes}", minutes));
  const hours = Math.floor(minutes / 60);
  minutes %= 60;
  return words.hours.map((t) => t.replace("{hours}", hours).replace("{minutes}", minutes));
}

// "HH:MM" of `at` in the venue's time zone (the scan log's clock_time). One formatter per zone:
// making one costs more than the verification it is part of.
const CLOCK_FORMATS = new Map();
export function clockTime(at, timeZone) {
  let fmt = CLOCK_FORMATS.get(timeZone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    } catch {
      fmt = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    }
    CLOCK_FORMATS.set(timeZone, fmt);
  }
  return fmt.format(new Date(at * 1000));
}

export function recentlyUsed(messages, result, now, previous, settings) {
  const [ruAgo, enAgo] = ago(messages, now - previous);
  const at = clockTime(previous, settings.timezone);
  const warnings = [...result.warnings, "recently_used"];
  const fill = (t, a) => t.replace("{ago}", a).replace("{time}", at);
  if (settings.recent_policy === "reject") {
    const [ru, en] = messages.texts.recent_reject;
    return new Result(REJECT, "not_entitled", now, { warnings, shown: result.shown,
      messageRu: fill(ru, ruAgo), messageEn: fill(en, enAgo),
      warningTexts: [["recently_used", fill(ru, ruAgo), fill(en, enAgo)]] });
  }
  const [ru, en] = messages.texts.recent_warn;
  return new Result(result.verdict, result.code, result.checkedAt, { warnings, shown: result.shown,
    entitlement: result.entitlement, messageRu: result.messageRu, messageEn: result.messageEn,
    warningTexts: [["recently_used", fill(ru, ruAgo), fill(en, enAgo)]] });
}
