"""The federal operator (`socpass-issuer federation ...`): a root key, the list of regional
issuers it trusts, and what venues sync from (docs/federation.md).

A third app beside the ministry's and the venue's: it keeps no database and imports nothing of
issuer/ or verifier/, only shared/ (.importlinter, `federation-uses-only-shared`).

- `trustlist.py`: the operator's state and use cases (the Federation class);
- `publish.py`: what a publish writes (the signed list, the bundle of every region's
  publication read now, the roots to pin, the scanner app it is given);
- `cli.py`: the commands, wired into `socpass-issuer` by issuer/cli.py.
"""
