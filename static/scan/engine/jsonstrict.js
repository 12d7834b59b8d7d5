// Mirrors shared/jsonstrict.py: JSON in one spelling. UTF-8 only (no BOM), no duplicate members,
// no NaN/Infinity, bounded depth. JSON.parse silently keeps the last of duplicate members and
// rounds big integers, so this is a parser of its own that keeps Python's meaning:
//   - an integer literal is a Number when it is exact as one, else a BigInt (Python's int is
//     exact: type(x) is int holds for it and a range check then refuses it);
//   - a literal with a fraction or exponent is a PyFloat (Python's float: never "an int");
//   - lone surrogates in \u escapes are kept, as Python keeps them;
//   - objects have no prototype, so "__proto__" is a member like any other.
// Use isInt() where Python says `type(x) is int`.

export class JSONFormatError extends Error {}

export class PyFloat {
  constructor(value) { this.value = value; }
  toJSON() { return this.value; }
}

export function isInt(x) {
  return typeof x === "number" || typeof x === "bigint";
}

export function isObject(x) {
  return x !== null && typeof x === "object" && !Array.isArray(x) && !(x instanceof PyFloat);
}

// Python's limit is its recursion limit (about 1000 frames, less the caller's own stack); no
// issuer nests more than four levels.
export const MAX_DEPTH = 900;
// Python 3.11 refuses to convert an integer literal of more digits (sys.int_info).
const MAX_INT_DIGITS = 4300;

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function loadsStrict(bytes) {
  let text;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new JSONFormatError("JSON must be UTF-8");
  }
  if (text.charCodeAt(0) === 0xfeff) throw new JSONFormatError("JSON must not start with a byte order mark");
  return parseText(text);
}

export function parseText(text) {
  const p = new Parser(text);
  p.ws();
  const value = p.value(0);
  p.ws();
  if (p.i !== text.length) p.fail("Extra data");
  return value;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const PLAIN = /[^"\\\x00-\x1f]*/y;

class Parser {
  constructor(text) { this.t = text; this.i = 0; }

  fail(msg) { throw new JSONFormatError(`invalid JSON: ${msg}`); }

  ws() {
    const t = this.t;
    let i = this.i;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  value(depth) {
    const c = this.t.charCodeAt(this.i);
    if (c === 34) return this.string();
    if (c === 123) return this.object(depth + 1);
    if (c === 91) return this.array(depth + 1);
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    const t = this.t;
    if (t.startsWith("true", this.i)) { this.i += 4; return true; }
    if (t.startsWith("false", this.i)) { this.i += 5; return false; }
    if (t.startsWith("null", this.i)) { this.i += 4; return null; }
    if (t.startsWith("NaN", this.i) || t.startsWith("Infinity", this.i)) {
      throw new JSONFormatError("non-finite number");
    }
    return this.fail("Expecting value");
  }

  number() {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.t);
    if (!m) {
      if (this.t.startsWith("-Infinity", this.i)) throw new JSONFormatError("non-finite number -Infinity");
      return this.fail("Expecting value");
    }
    this.i += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new PyFloat(Number(m[0]));
    const n = Number(m[0]);
    if (Number.isSafeInteger(n)) return n === 0 ? 0 : n;
    if (m[0].replace("-", "").length > MAX_INT_DIGITS) this.fail("integer too long");
    return BigInt(m[0]);
  }

  string() {
    const t = this.t;
    let i = this.i + 1;
    let out = "";
    for (;;) {
      PLAIN.lastIndex = i;
      const run = PLAIN.exec(t)[0];
      out += run;
      i += run.length;
      const c = t.charCodeAt(i);
      if (c === 34) { this.i = i + 1; return out; }
      if (c !== 92) { this.i = i; return this.fail(i >= t.length ? "Unterminated string" : "Invalid control character"); }
      const e = t[i + 1];
      i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case "\\": out += "\\"; break;
        case "/": out += "/"; break;
        case "b": out += "\b"; break;
        case "f": out += "\f"; break;
        case "n": out += "\n"; break;
        case "r": out += "\r"; break;
        case "t": out += "\t"; break;
        case "u": {
          const hex = t.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) { this.i = i; return this.fail("Invalid \\uXXXX escape"); }
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          this.i = i; return this.fail("Invalid \\escape");
      }
    }
  }

  object(depth) {
    if (depth > MAX_DEPTH) throw new JSONFormatError("JSON nested too deeply");
    const out = Object.create(null);
    const seen = new Set();
    this.i++;
    this.ws();
    if (this.t.charCodeAt(this.i) === 125) { this.i++; return out; }
    for (;;) {
      if (this.t.charCodeAt(this.i) !== 34) this.fail("Expecting property name enclosed in double quotes");
      const key = this.string();
      if (seen.has(key)) throw new JSONFormatError(`duplicate member ${JSON.stringify(key)}`);
      seen.add(key);
      this.ws();
      if (this.t.charCodeAt(this.i) !== 58) this.fail("Expecting ':' delimiter");
      this.i++;
      this.ws();
      out[key] = this.value(depth);
      this.ws();
      const c = this.t.charCodeAt(this.i++);
      if (c === 125) return out;
      if (c !== 44) this.fail("Expecting ',' delimiter");
      this.ws();
    }
  }

  array(depth) {
    if (depth > MAX_DEPTH) throw new JSONFormatError("JSON nested too deeply");
    const out = [];
    this.i++;
    this.ws();
    if (this.t.charCodeAt(this.i) === 93) { this.i++; return out; }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.t.charCodeAt(this.i++);
      if (c === 93) return out;
      if (c !== 44) this.fail("Expecting ',' delimiter");
      this.ws();
    }
  }
}

// Python's `a == b` for what a JSON member is compared with (1 == 1.0 == True in Python).
export function pyEquals(a, b) {
  const num = (x) => (x === true ? 1 : x === false ? 0 : x instanceof PyFloat ? x.value
    : typeof x === "bigint" ? Number(x) : x);
  if (typeof a === "string" || typeof b === "string") return a === b;
  return num(a) === num(b);
}
