"""How long `scanserve sandbox` takes to start (docs/sandbox.md#start-up).

Starts `scanserve sandbox --port 0` N times, one after another, and prints for each: the
time from spawning the process to its first answer (`GET /_sandbox`), and the time the
sandbox reports itself in its banner (`Ready in`: from the command's start, after Python
and the command line have been imported, to a listening socket with the database seeded),
and the CPU time the process used in all (start, one answer, stop): on a shared machine
the wall-clock figures swing with the load, the CPU time much less. A figure, never a pass
or fail.

    python bench/sandbox_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

import httpx


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_start() -> tuple[float, float, float]:
    cpu_before = _children_cpu()
    spawned = time.perf_counter()
    command = [sys.executable, "-c", "from scanserve.cli import main; main()", "sandbox"]
    with subprocess.Popen(
        [*command, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            control = reported = None
            for line in proc.stdout:
                if line.startswith("Control: "):
                    control = line.split()[1]
                if line.startswith("Ready in "):
                    reported = float(line.split()[2])
                    break
            if control is None or reported is None:
                raise SystemExit("the sandbox printed no banner")
            answer = httpx.get(control, timeout=60)
            answer.raise_for_status()
            wall = time.perf_counter() - spawned
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return wall, reported, _children_cpu() - cpu_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    walls, reported, cpus = [], [], []
    for run in range(1, args.runs + 1):
        wall, ready, cpu = one_start()
        walls.append(wall)
        reported.append(ready)
        cpus.append(cpu)
        print(
            f"run {run}: first answer {wall:.2f} s after spawning, 'Ready in {ready:.2f} s', "
            f"CPU {cpu:.2f} s"
        )
    print(
        f"median: first answer {statistics.median(walls):.2f} s, "
        f"'Ready in' {statistics.median(reported):.2f} s, CPU {statistics.median(cpus):.2f} s"
    )


if __name__ == "__main__":
    main()
