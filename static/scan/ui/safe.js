// What may reach the screen, and what a handheld scanner typed.

// C0/C1 controls, bidi embeddings/overrides/isolates and marks, zero-width and other invisible
// format characters: the issuer refuses them in names, and if one ever arrives it is shown as
// a visible U+FFFD instead of silently reordering or hiding what the clerk reads.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

export function displayText(value) {
  if (value === null || value === undefined) return "";
  return String(value).replace(UNSAFE, "\ufffd");
}

// A handheld scanner types key presses: under a Russian layout every Latin letter of a plain
// JWS arrives as the Cyrillic letter on the same key. Digits (our QR text) are the same in
// both layouts; this puts letters back for the plain-JWS case.
const RU_KEYS = "йцукенгшщзхъфывапролджэячсмитьбюё";
const EN_KEYS = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`";
const RU_SHIFT = "ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ";
const EN_SHIFT = "QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~";

export function fromRussianLayout(text) {
  if (!/[\u0400-\u04ff]/.test(text)) return text;
  let out = "";
  for (const ch of text) {
    let i = RU_KEYS.indexOf(ch);
    if (i >= 0) {
      out += EN_KEYS[i];
      continue;
    }
    i = RU_SHIFT.indexOf(ch);
    out += i >= 0 ? EN_SHIFT[i] : ch;
  }
  return out;
}
