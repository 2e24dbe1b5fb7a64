"""Infrastructure: the machinery the domain runs on, knowing nothing of the domain.

The Huey queue (its tasks are given to it by the composition root), the capture lanes and
the outbox relay, outage records, bounded lanes for slow calls, rate limits, the object
store, how uvicorn runs, logging, JSON encoding and ids. May import storage, settings and
errors only.
"""
