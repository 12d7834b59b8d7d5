"""socpass credential format: claims, tokens, status lists, QR text and images.

No Flask, no database, no clock reads: callers pass ``now``.
"""
