// Mirrors verifier/freshness.py: how old a synced status list is, and whether it may still be
// relied on. Stale once now > iat + ttl (or at exp); for `grace` seconds after that accepted
// with the warning status_stale; after that, or past the list's exp, unusable.

export const DEFAULT_TTL = 86400;
export const FRESH = "fresh", STALE = "stale", UNUSABLE = "unusable";

// slt: a verified status list token (statuslist.js verifyStatusList).
export function judge(slt, now, grace) {
  const ttl = slt.ttl === null ? null : Number(slt.ttl);
  let staleAt = slt.issuedAt + (ttl !== null ? ttl : DEFAULT_TTL);
  if (ttl === null && slt.expiresAt !== null) staleAt = slt.expiresAt;
  if (slt.expiresAt !== null) staleAt = Math.min(staleAt, slt.expiresAt);
  const expired = slt.expiresAt !== null && now >= slt.expiresAt;
  let state;
  if (expired || now > staleAt + grace) state = UNUSABLE;
  else if (now > staleAt) state = STALE;
  else state = FRESH;
  return { state, age: now - slt.issuedAt, staleAt, expired, stale: state !== FRESH };
}
