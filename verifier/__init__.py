"""The venue verifier: syncs issuers' keys and status lists, then decides offline.

`sync` is the only module that touches the network; `service.Verifier` is the one accept/reject
decision, shared by the web app and the command line.
"""
