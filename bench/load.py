"""HTTP load: wrk when it is installed, else a small asyncio keep-alive client.

The Python client is the fallback only: it costs far more CPU per request than wrk, and on a
small machine it competes with the server it measures, so its figures are lower and its
ratios compressed. ``run.py`` says which one it used.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Result:
    requests: int
    seconds: float
    non_2xx: int
    tool: str

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok_rate(self) -> float:
        return (self.requests - self.non_2xx) / self.seconds if self.seconds else 0.0


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua(method: str, headers: dict[str, str], body: str | None) -> str:
    lines = [f'wrk.method = "{method}"']
    for k, v in headers.items():
        lines.append(f'wrk.headers["{k}"] = "{v}"')
    if body is not None:
        escaped = body.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'wrk.body = "{escaped}"')
    return "\n".join(lines) + "\n"


def run(
    url: str,
    *,
    seconds: float,
    connections: int,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    threads: int = 2,
) -> Result:
    headers = dict(headers or {})
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    wrk = wrk_path()
    if wrk is None:
        return asyncio.run(_python_load(url, seconds, connections, method, headers, body))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(method, headers, body))
    try:
        out = subprocess.run(
            [
                wrk,
                f"-t{min(threads, connections)}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if total is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    unit = {"s": 1.0, "ms": 1e-3, "m": 60.0, "us": 1e-6}[total.group(3)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*timeout (\d+)", out)
    return Result(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * unit,
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        tool="wrk"
        + (f" ({errors.group(1)} timeouts)" if errors and errors.group(1) != "0" else ""),
    )


async def _python_load(
    url: str,
    seconds: float,
    connections: int,
    method: str,
    headers: dict[str, str],
    body: str | None,
) -> Result:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    payload = (body or "").encode()
    head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        head.append(f"Content-Length: {len(payload)}")
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
    done = 0
    non_2xx = 0
    deadline = time.monotonic() + seconds

    async def one_connection() -> None:
        nonlocal done, non_2xx
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.monotonic() < deadline:
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                done += 1
                if not status_line.split(b" ")[1].startswith(b"2"):
                    non_2xx += 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return Result(done, time.monotonic() - started, non_2xx, "python (wrk not installed)")
