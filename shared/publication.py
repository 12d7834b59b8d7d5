"""What an issuer publishes for verifiers, as files under a base URL or in a directory.

The same relative paths serve HTTP (`GET <url>/<path>`) and `publish --out DIR` (a USB stick):
a verifier syncs from either with one code path.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

METADATA_PATH = ".well-known/socpass-issuer.json"
JWKS_PATH = ".well-known/jwks.json"
STATUS_PREFIX = "status/"
STATUS_MEDIA_TYPE = "application/statuslist+jwt"
MAX_METADATA_BYTES = 1024 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")


class PublicationError(ValueError):
    pass


@dataclass(frozen=True)
class IssuerMetadata:
    iss: str
    name: str
    url: str
    region: str | None
    timezone: str | None
    status_lists: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"iss": self.iss, "name": self.name, "url": self.url, "region": self.region,
                "timezone": self.timezone, "jwks_uri": self.url + "/" + JWKS_PATH,
                "status_lists": list(self.status_lists)}

    @classmethod
    def from_json(cls, obj: Any) -> "IssuerMetadata":
        if not isinstance(obj, dict):
            raise PublicationError("issuer metadata must be an object")
        iss, name, url = obj.get("iss"), obj.get("name"), obj.get("url")
        for label, value in (("iss", iss), ("name", name), ("url", url)):
            if not isinstance(value, str) or not value:
                raise PublicationError(f"issuer metadata: {label} missing")
        lists = obj.get("status_lists", [])
        if not isinstance(lists, list) or not all(isinstance(u, str) for u in lists):
            raise PublicationError("issuer metadata: status_lists must be a list of URIs")
        for uri in lists:
            relative_path(url, uri)
        region, tz = obj.get("region"), obj.get("timezone")
        return cls(iss=iss, name=name, url=url.rstrip("/"),
                   region=region if isinstance(region, str) else None,
                   timezone=tz if isinstance(tz, str) else None, status_lists=tuple(lists))


def status_list_uri(base_url: str, list_id: str) -> str:
    return base_url.rstrip("/") + "/" + STATUS_PREFIX + list_id


def relative_path(base_url: str, uri: str) -> str:
    """The path of a published URI below the issuer's base URL; refuses anything outside it."""
    base = base_url.rstrip("/") + "/"
    if not uri.startswith(base):
        raise PublicationError(f"{uri!r} is not below the issuer URL {base_url!r}")
    rel = uri[len(base):]
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") or not _SEGMENT.fullmatch(p) for p in parts):
        raise PublicationError(f"{uri!r} has an unsafe path")
    return posixpath.join(*parts)
