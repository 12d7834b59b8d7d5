// Words for the two photo errors that are not verifier codes. `no_qr` is one: its words come
// from messages.json, generated from shared/ like every other code's.

import {LIMITS} from "./filepolicy.js";

const MB = Math.round(LIMITS.maxBytes / (1024 * 1024));
const MPX = Math.round(LIMITS.maxPixels / 1_000_000);

export const FILE_MESSAGES = Object.freeze({
  not_image: Object.freeze({
    ru: "Этот файл не изображение. Выберите фотографию QR-кода (JPEG, PNG, WebP).",
    en: "This file is not an image. Pick a photo of the QR code (JPEG, PNG, WebP).",
  }),
  too_large: Object.freeze({
    ru: `Изображение слишком большое: допускается до ${MB} МБ и до ${MPX} мегапикселей, ` +
        `не больше ${LIMITS.maxSide} точек по стороне. Сфотографируйте QR-код ещё раз.`,
    en: `The image is too large: up to ${MB} MB, ${MPX} megapixels and ${LIMITS.maxSide} pixels ` +
        "a side are allowed. Take the photo of the QR code again.",
  }),
});

/** The message for a decodeFile error that is not a verifier code, or null for one that is. */
export function fileMessage(code, lang = "ru") {
  const entry = FILE_MESSAGES[code];
  return entry ? entry[lang === "en" ? "en" : "ru"] : null;
}
