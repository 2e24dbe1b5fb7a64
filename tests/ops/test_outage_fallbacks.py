"""The pieces behind the outage behaviour, in process and quick (the tests in tests/ops/ stop
real Redis servers under real scanserve processes): the rate limiter counting in the process
while its store is unreachable, and the queue's relay holding messages until the queue
takes them."""

from __future__ import annotations

import logging
import threading

from loopback import refused_port

from scanserve.infra.outage import Outage
from scanserve.infra.ratelimit import RateLimiter
from scanserve.infra.relay import Relay
from scanserve.testing import wait_for


def test_an_unreachable_limits_store_is_counted_in_the_process(caplog):
    # a port bound by this process and never listened on: refused until the block ends
    with (
        refused_port() as port,
        caplog.at_level(logging.WARNING, logger="scanserve.ratelimit"),
    ):
        limiter = RateLimiter(f"redis://127.0.0.1:{port}/0")
        assert limiter.check() is False
        verdicts = [limiter.hit("key:a", 3, 100) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]  # still limited
    assert verdicts[0].headers["RateLimit-Remaining"] == "2"
    state = limiter.state()
    assert state["status"] == "degraded" and state["store"] == "redis"
    warnings = [r for r in caplog.records if "rate-limit store is unreachable" in r.message]
    assert len(warnings) == 1


def test_memory_limits_have_no_store_to_lose():
    limiter = RateLimiter("memory://")
    assert limiter.check() is True
    assert limiter.state() == {"status": "up", "store": "memory"}


def test_the_relay_holds_messages_until_the_queue_takes_them(caplog):
    outage = Outage("the queue", logging.getLogger("scanserve.queue"), first_delay=0.05)
    relay = Relay(outage, (ConnectionError,))
    queue_up = threading.Event()
    delivered: list[str] = []

    def deliver(name: str):
        def call() -> None:
            if not queue_up.is_set():
                raise ConnectionError("refused")
            delivered.append(name)

        return call

    with caplog.at_level(logging.INFO, logger="scanserve.queue"):
        relay.send(("capture", "a"), deliver("a"))  # raises inside: held, not raised
        relay.send(("capture", "b"), deliver("b"))  # the queue is known down: held at once
        relay.send(("capture", "a"), deliver("a"))  # one message per capture
        assert outage.down and relay.held() == 2 and delivered == []
        queue_up.set()
        wait_for(lambda: relay.held() == 0, 10, "the relay to hand the messages over")
        relay.send(("capture", "c"), deliver("c"))  # up again: straight through
    relay.stop()
    assert sorted(delivered) == ["a", "b", "c"]
    assert not outage.down
    messages = [r.message for r in caplog.records]
    assert sum("the queue is unreachable" in m for m in messages) == 1
    assert sum("the queue is reachable again" in m for m in messages) == 1


def test_a_failure_while_admitting_is_a_problem_document(scanserve_app, monkeypatch):
    """Not a plain-text 500 from Connexion's last-resort handler, which itself failed with
    "'coroutine' object is not callable" (issue 14)."""

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in counting")

    monkeypatch.setattr(scanserve_app.services.limiter, "hit", broken)
    with scanserve_app.test_client(raise_server_exceptions=False) as client:
        answer = client.get("/scanner/api/v1/health/ready")
        live = client.get("/scanner/api/v1/health/live")
    assert live.status_code == 200, live.text  # liveness depends on nothing: let through
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["error_code"] == "internal_error"
