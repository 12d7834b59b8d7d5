"""HTTP views of the issuer, one module per audience (`public`: what verifiers fetch).

Views parse the request, call the service and render; nothing else.
"""
