"""wrk: find (or install) it, run it with bench/wrk.lua, read its results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("wrk.lua")
MARKER = "BENCHJSON "


class WrkError(RuntimeError):
    pass


def find_wrk(*, install: bool = True) -> str:
    """The wrk binary; on Debian, `apt-get install -y wrk` when it is missing (as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    if install and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env)
        found = shutil.which("wrk")
        if not found:  # the package lists may be missing: update them once and retry
            subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env)
            found = shutil.which("wrk")
    if not found:
        raise WrkError("wrk not found: install it (Debian: apt-get install wrk)")
    return found


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0].strip()


@dataclass(frozen=True, slots=True)
class Load:
    """One wrk invocation: what to request and how hard."""

    url: str  # base, e.g. http://127.0.0.1:8000
    method: str
    path: str  # template with {slug}, {tag}, {author}
    auth: str  # "token" | "none"
    body: str  # "none" | "login" | "article"
    connections: int
    seconds: float
    data_file: Path
    threads: int = 2
    timeout: float = 30.0  # a login queued behind Argon2 hashing is slow, not lost

    def command(self, wrk: str, cpu: str | None) -> list[str]:
        threads = max(1, min(self.threads, self.connections))
        cmd = [
            wrk,
            f"--threads={threads}",
            f"--connections={self.connections}",
            f"--duration={max(1, round(self.seconds))}s",
            f"--timeout={self.timeout:g}s",
            f"--script={SCRIPT}",
            self.url,
            "--",
            str(self.data_file),
            self.method,
            self.path,
            self.auth,
            self.body,
        ]
        return (["taskset", "-c", cpu] if cpu else []) + cmd


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int]

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(MARKER):
            raw = json.loads(line[len(MARKER) :])
            seconds = raw["duration_us"] / 1e6
            latency = raw["latency_ms"]
            return WrkResult(
                requests=raw["requests"],
                seconds=seconds,
                rps=raw["requests"] / seconds if seconds else 0.0,
                p50_ms=latency["p50"],
                p90_ms=latency["p90"],
                p99_ms=latency["p99"],
                p999_ms=latency["p999"],
                mean_ms=latency["mean"],
                max_ms=latency["max"],
                errors=dict(raw["errors"]),
            )
    raise WrkError(f"wrk printed no result:\n{output[-2000:]}")


class WrkRun:
    """A wrk process running in the background; `result()` waits for it."""

    def __init__(self, wrk: str, load: Load, cpu: str | None) -> None:
        self.load = load
        self.proc = subprocess.Popen(
            load.command(wrk, cpu), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def result(self) -> WrkResult:
        output, _ = self.proc.communicate(timeout=self.load.seconds + self.load.timeout + 60)
        if self.proc.returncode != 0:
            raise WrkError(f"wrk failed ({self.proc.returncode}):\n{output[-2000:]}")
        return parse(output)


def run(wrk: str, load: Load, cpu: str | None) -> WrkResult:
    return WrkRun(wrk, load, cpu).result()
