"""Identity: who is calling, and what they may see.

API keys, personal access tokens, outside OIDC JWTs, browser sessions and their cookies, the
per-process cache of authenticated keys, and the scoping of every query to the caller's
organisations. May import infrastructure and storage; never the domain or the HTTP edge.
"""
