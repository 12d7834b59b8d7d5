// Mirrors shared/errors.py: the errors the engine raises on purpose, each with a stable code.

export class SocpassError extends Error {
  constructor(description, code = "error") {
    super(description || code);
    this.code = code;
    this.description = description || code;
  }
}

// A presented credential or status list is not acceptable (code: one of shared/codes.py).
export class TokenError extends SocpassError {
  constructor(code, description = "") {
    super(description || code, code);
    this.verificationCode = code;
  }
}

// A setting or a key is wrong (shared.errors.KeyError_ / ConfigError).
export class KeyError_ extends SocpassError {
  constructor(description) { super(description, "key"); }
}

export function malformed(why) {
  return new TokenError("malformed", why);
}
