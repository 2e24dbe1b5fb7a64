"""Where the HTTP layer leaves what it decided in the ASGI scope, for the layers after it:
the gateway writes them; the security layer, idempotency, the fast path and the handlers'
context read them."""

from __future__ import annotations

PRINCIPAL_KEY = "scanserve.principal"
SERVICES_KEY = "scanserve.services"
RATE_HEADERS_KEY = "scanserve.rate_headers"
# the request id (bytes, as sent in X-Request-ID), set by scanserve.http.observe
REQUEST_ID_KEY = "scanserve.request_id"
