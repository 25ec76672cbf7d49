"""Run a command in a subprocess and report wall time and peak RSS of its whole process tree."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil


def run_measured(
    code: str, *, env: dict[str, str] | None = None, cwd: str | None = None
) -> tuple[float, float, str]:
    """(seconds, peak MiB of the process tree, stdout) for ``python -c code``.

    ``python -c`` puts the working directory first on ``sys.path``: give ``cwd`` when
    ``PYTHONPATH`` must decide which corpuskit is imported."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        text=True,
    )
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark command failed:\n{err[-3000:]}")
    return elapsed, peak / 2**20, out


def own_peak_mib() -> float:
    """Peak resident memory of this process since it started (MiB).

    Reads VmHWM from /proc (Linux): the high-water mark of this process's own memory, which exec
    resets. ``getrusage(...).ru_maxrss`` is not that: a child started with fork + exec inherits
    the parent's value, so a benchmark child reported its parent's size whenever that was larger.
    """
    import resource
    from pathlib import Path

    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
