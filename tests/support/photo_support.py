"""The photo tests' shared parts: an S3-compatible server (moto's server mode, on loopback)
and a bucket of a test's own on it, scanserve served under uvicorn on a loopback port with its
embedded queue, and EAN-13 barcodes drawn as PNG images."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from typing import Any

import barcode
import boto3
import pytest
import uvicorn
from barcode.writer import ImageWriter
from moto.server import ThreadedMotoServer

from scanserve.app import create_app
from scanserve.settings import Settings
from scanserve.testing import wait_for

BASE = "/scanner/api/v1"
BUCKET = "scanserve-photos"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]  # port 0: the one the kernel gave
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_settings(s3_endpoint: str, tmp_path: Any) -> dict[str, Any]:
    bucket = f"{BUCKET}-{tmp_path.name.lower().replace('_', '-')}"[:63]
    options = {
        "s3_bucket": bucket,
        "s3_endpoint_url": s3_endpoint,
        "s3_region": "eu-central-1",
        "s3_access_key_id": "test-key",
        "s3_secret_access_key": "test-secret",
        "s3_addressing_style": "path",
    }
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="eu-central-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    ).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    return options


def ean13_png(digits: str) -> bytes:
    out = io.BytesIO()
    barcode.get("ean13", digits, writer=ImageWriter()).write(out)
    return out.getvalue()


@contextlib.contextmanager
def serving(settings: Settings, plugins: list[Any]) -> Iterator[tuple[str, Any]]:
    """scanserve under uvicorn on a loopback port, with its embedded queue running."""
    app = create_app(settings, extra_plugins=plugins, start_queue=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 30, "the server to start")
        port = server.servers[0].sockets[0].getsockname()[1]  # port 0: the kernel's pick
        yield f"http://127.0.0.1:{port}{BASE}", app
    finally:
        server.should_exit = True
        thread.join(30)
