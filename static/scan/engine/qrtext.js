// Mirrors shared/qrtext.py: the QR text form (decimal digits of: version byte 1, signature
// length S, S bytes of raw signature, raw DEFLATE with the preset dictionary of header JSON,
// "\n", payload JSON) back to the exact compact JWS; a plain compact JWS is accepted as well.
import { b64urlEncode } from "./b64.js";
import { malformed } from "./errors.js";
import { inflateCapped } from "./inflate.js";
import { parseParts, parse as parseToken } from "./token.js";

export const VERSION = 1;
export const MAX_QR_DIGITS = 2400; // checked before any big-number work
export const MAX_INFLATED = 4096;  // caps a DEFLATE bomb
// An empty signature part is let through so that "alg": "none" gets its own code.
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const DIGITS = /^[0-9]+$/;

// shared/qrtext.py PRESET_DICTIONARY, byte for byte (frozen for format version 1; the spec
// publishes it as docs/spec/dictionary-v1.bin and a test compares the two).
export const PRESET_DICTIONARY = new TextEncoder().encode(
  "Александр Алексей Андрей Анна Валентина Виктор Владимир Галина Дмитрий Евгений Екатерина " +
  "Елена Иван Ирина Мария Михаил Наталья Николай Ольга Павел Светлана Сергей Татьяна Юлия " +
  "ович евич ична овна евна ова ева ина ий ая енко ин ов ев " +
  '"c":"disability_1""c":"disability_2""c":"disability_3""c":"disabled_child"' +
  '"c":"combat_veteran""c":"svo_family""c":"pensioner""c":"low_income"' +
  '"t":"beneficiary","h":{"f":"' +
  '{"alg":"EdDSA","kid":"' +
  '{"alg":"ES256","kid":"","typ":"socpass+jwt"}\n{"iss":"RU-","iat":17,"exp":1,"jti":"' +
  '","t":"large_family","h":{"f":"","g":"","p":"","b":"19' +
  '"},"n":3,"r":"27","status":{"status_list":{"idx":,"uri":"https://' +
  '/status/1"}}}');

// Python's str.strip(): its whitespace, not JavaScript's trim() (which also takes U+FEFF and
// not U+001C..U+001F or U+0085).
const PY_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005" +
  "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

export function pyStrip(text) {
  let a = 0, b = text.length;
  while (a < b && PY_SPACE.includes(text[a])) a++;
  while (b > a && PY_SPACE.includes(text[b - 1])) b--;
  return text.slice(a, b);
}

// QR text -> compact JWS (surrounding whitespace ignored).
export function decode(text) {
  const parts = decodeParts(text);
  if (typeof parts === "string") return parts;
  const [header, payload, signature] = parts;
  return `${b64urlEncode(header)}.${b64urlEncode(payload)}.${b64urlEncode(signature)}`;
}

// QR text -> a parsed (NOT verified) token.
export function parse(text) {
  const parts = decodeParts(text);
  if (typeof parts === "string") return parseToken(parts);
  const [header, payload, signature] = parts;
  return parseParts(header, payload, signature);
}

function isAsciiText(text) {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 127) return false;
  return true;
}

function decodeParts(text) {
  if (typeof text !== "string") throw malformed("QR text must be a string");
  // Python counts code points and JavaScript UTF-16 units: they differ only for text outside
  // the BMP, which is refused below either way.
  if (text.length > MAX_QR_DIGITS + 64) throw malformed("QR text too long");
  text = pyStrip(text);
  const first = text.charAt(0);
  if (!(isAsciiText(text) && first >= "1" && first <= "9" && !text.includes("_"))) {
    if (COMPACT.test(text)) return text;
    throw malformed("not a socpass QR code");
  }
  if (text.length > MAX_QR_DIGITS || !DIGITS.test(text)) throw malformed("not a socpass QR code");
  const binary = digitsToBytes(text);
  if (binary.length < 3 || binary[0] !== VERSION) throw malformed("unknown QR format version");
  const sigLen = binary[1];
  const signature = binary.subarray(2, 2 + sigLen);
  const compressed = binary.subarray(2 + sigLen);
  if (signature.length !== sigLen || compressed.length === 0) throw malformed("QR content truncated");
  const inflated = inflateCapped(compressed, { limit: MAX_INFLATED, wbits: -15,
    zdict: PRESET_DICTIONARY, what: "QR content", zeroPadding: true });
  const sep = inflated.indexOf(10);
  if (sep < 0) throw malformed("QR content has no header separator");
  return [inflated.subarray(0, sep), inflated.subarray(sep + 1), signature];
}

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX["0123456789abcdef".charCodeAt(i)] = i;

// Big-endian bytes of a decimal number, without leading zero bytes (Python's int.to_bytes).
export function digitsToBytes(text) {
  let hex = BigInt(text).toString(16);
  if (hex.length % 2) hex = "0" + hex;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0, j = 0; i < out.length; i++, j += 2) {
    out[i] = (HEX[hex.charCodeAt(j)] << 4) | HEX[hex.charCodeAt(j + 1)];
  }
  return out;
}
