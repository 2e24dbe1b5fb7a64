"""The domain: what scanserve does, with no HTTP in it.

Sessions, captures and their states, photos, proposals, the capture pipeline and extraction,
the catalog, freshness, GS1 rules, images, quotas and budgets, and ``Services``, the container
of what one process holds, which the composition root (:mod:`scanserve.bootstrap`) builds and
hands in. May import identity, infrastructure, storage and the plugin interface; never the
HTTP edge, the composition root or a built-in plugin.
"""
