"""The ministry's issuer: keys, credentials, status lists, publication, CLI and web service.

Business logic lives in `service.py` (and the small modules it uses); `cli.py` and `app.py`
only parse input, call the service and render its answer.
"""
