"""One issuer's publication checked as a whole: its metadata, its keys, and every status list's
signature by those keys (and its published entitlement rules, if any).

The verifier checks the originals it keeps on every cache load, sync checks what it just read,
the federal operator checks each region it bundles: one check for all three, so a list a
verifier would refuse can never be bundled or cached.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import KeyError_, SocpassError, TokenError
from shared.keys import StaticKeyResolver, VerificationKey, keys_from_jwks
from shared.publication import EntitlementCatalogue, IssuerMetadata, PublicationError
from shared.statuslist import StatusListToken, verify_status_list

_ISSUER_MEMBERS = frozenset({"source", "metadata", "jwks", "status_lists"})
_OPTIONAL_MEMBERS = frozenset({"entitlements"})


class PublicationRefused(SocpassError):
    """An issuer's publication does not verify; it is refused as a whole."""

    code = "publication_refused"


@dataclass(frozen=True)
class VerifiedIssuer:
    iss: str
    source: str
    metadata: IssuerMetadata
    keys: tuple[VerificationKey, ...]
    status_lists: Mapping[str, StatusListToken]
    document: dict[str, Any]  # the originals as given, to be stored unchanged
    entitlements: EntitlementCatalogue | None = None  # the issuer's published rules, if any


def verify_issuer(iss: str, entry: Any) -> VerifiedIssuer:
    """Check one issuer's originals ({"source", "metadata", "jwks", "status_lists"} and
    optionally "entitlements"): metadata, keys, and every status list's signature."""
    where = f"issuer {iss!r}"
    if not isinstance(entry, dict) or not _ISSUER_MEMBERS <= set(entry) \
            or not set(entry) <= _ISSUER_MEMBERS | _OPTIONAL_MEMBERS:
        raise PublicationRefused(f"{where}: entry must have exactly "
                                 f"{', '.join(sorted(_ISSUER_MEMBERS))}"
                                 f" (and optionally {', '.join(sorted(_OPTIONAL_MEMBERS))})")
    source, lists = entry["source"], entry["status_lists"]
    if not isinstance(source, str) or not isinstance(lists, dict):
        raise PublicationRefused(f"{where}: source or status_lists has the wrong type")
    try:
        metadata = IssuerMetadata.from_json(entry["metadata"])
        keys = keys_from_jwks(iss, entry["jwks"])
        rules = (EntitlementCatalogue.from_json(entry["entitlements"])
                 if entry.get("entitlements") is not None else None)
    except (PublicationError, KeyError_) as err:
        raise PublicationRefused(f"{where}: {err}") from err
    if metadata.iss != iss:
        raise PublicationRefused(f"{where}: metadata names another issuer {metadata.iss!r}")
    if rules is not None and rules.iss != iss:
        raise PublicationRefused(f"{where}: entitlement rules name another issuer {rules.iss!r}")
    kids = [k.kid for k in keys]
    if not kids or len(set(kids)) != len(kids):
        raise PublicationRefused(f"{where}: the JWKS must hold at least one key and no kid twice")
    if set(lists) != set(metadata.status_lists):
        raise PublicationRefused(f"{where}: cached status lists differ from those its metadata "
                                 "lists")
    resolver = StaticKeyResolver({iss: keys})  # this issuer's keys only
    verified: dict[str, StatusListToken] = {}
    for uri, token in lists.items():
        if not isinstance(token, str):
            raise PublicationRefused(f"{where}: status list {uri!r} is not a token")
        try:
            slt = verify_status_list(token, resolver, uri=uri)
        except TokenError as err:
            raise PublicationRefused(f"{where}: status list {uri!r} refused: "
                                     f"{err.description}") from err
        if slt.issuer != iss:
            raise PublicationRefused(f"{where}: status list {uri!r} is signed for {slt.issuer!r}")
        verified[uri] = slt
    return VerifiedIssuer(iss=iss, source=source, metadata=metadata, keys=tuple(keys),
                          status_lists=verified, document=entry, entitlements=rules)
