// Mirrors verifier/result.py: a verdict as the verifier returns it (Result.to_json's shape).
import { message } from "./codes.js";

export const ACCEPT = "accept", REJECT = "reject";

export class Result {
  constructor(verdict, code, checkedAt, { warnings = [], shown = null, entitlement = null,
    messageRu = null, messageEn = null, warningTexts = [] } = {}) {
    this.verdict = verdict;
    this.code = code;
    this.checkedAt = checkedAt;
    this.warnings = warnings;
    this.shown = shown;             // () => the clerk's view, only when the signature verified
    this.entitlement = entitlement;
    this.messageRu = messageRu;     // replaces the code's standard message when set
    this.messageEn = messageEn;
    this.warningTexts = warningTexts; // [warning, Russian, English] replacing a standard text
  }

  get accepted() { return this.verdict === ACCEPT; }

  toJson(messages) {
    const special = new Map(this.warningTexts.map(([code, ru, en]) => [code, [ru, en]]));
    return {
      verdict: this.verdict, code: this.code,
      message: this.messageRu || message(messages, this.code, "ru"),
      message_en: this.messageEn || message(messages, this.code, "en"),
      warnings: [...this.warnings],
      warning_messages: this.warnings.map((w) => {
        const [ru, en] = special.get(w) ?? [message(messages, w, "ru"), message(messages, w, "en")];
        return { code: w, message: ru, message_en: en };
      }),
      credential: this.shown ? this.shown() : null,
      entitlement: this.entitlement,
      checked_at: this.checkedAt,
    };
  }
}
