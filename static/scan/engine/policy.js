// Mirrors verifier/policy.py: what this venue grants, from the rules its issuers published;
// the built-in catalogue (verifier.policy.BUILTIN_PROFILES, handed in as data) for an issuer
// that publishes none. The browser has no local override file.
import { entitlementFor as grant, parseProfiles } from "./publication.js";

export const LOCAL = "local", ISSUER = "issuer", BUILTIN = "builtin", FEDERAL = "federal";

export function entitlementFor(credential, profile) {
  return grant(profile, credential.type, credential.category, credential.children);
}

export class VenuePolicy {
  // builtinProfiles: the raw {"<profile>": {...}} catalogue; local: a parsed profile or null.
  constructor(name, { builtinProfiles = null, local = null, catalogue }) {
    this.name = name;
    this.local = local;
    const builtin = builtinProfiles ? parseProfiles(builtinProfiles, "built-in policy", catalogue) : new Map();
    this.builtin = builtin.get(name) ?? null;
  }

  rulesFor(published) {
    if (this.local !== null) return [this.local, LOCAL];
    if (published) return [published.profiles.get(this.name) ?? null, ISSUER];
    return [this.builtin, BUILTIN];
  }

  entitlement(credential, published) {
    const [profile, source] = this.rulesFor(published);
    if (profile === null) return null;
    const granted = entitlementFor(credential, profile);
    if (granted !== null) granted.source = source;
    return granted;
  }

  // The venue's name in Russian and English, for the page.
  names(cache) {
    for (const profile of [this.local, this.builtin]) if (profile) return [profile.nameRu, profile.nameEn];
    for (const issuer of cache ? cache.issuers.values() : []) {
      const found = issuer.entitlements?.profiles.get(this.name);
      if (found) return [found.nameRu, found.nameEn];
    }
    return [this.name, this.name];
  }
}
