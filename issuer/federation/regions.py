"""Reading a region's publication, for `federation add` and the bundle: the same reader and
the same verification as a venue's sync (shared/pubreader.py), so a region the operator adds
or bundles is one a venue would accept."""
from __future__ import annotations

import time

from shared.pubreader import NetPolicy, fetch_issuer
from shared.verifiedissuer import VerifiedIssuer

# The regions are the operator's own partners, which may sit on its LAN.
REGION_NET = NetPolicy(allow_private=True)


def read_region(source: str) -> VerifiedIssuer:
    """A region's publication (its base URL or publish directory), read and verified now.
    Raises shared.pubreader.PublicationUnavailable."""
    return fetch_issuer(source, clock=time.monotonic, net=REGION_NET)
