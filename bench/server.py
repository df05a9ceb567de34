"""The servers under test, started as production starts them, and their CPU time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parent.parent  # the checkout: `bench` is importable from it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds in user and system mode) of a live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # field 3 (state) onwards
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_by_pid(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds used so far by each of these processes that is alive (threads included)."""
    found = {}
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            found[pid] = stat[1]
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    return sum(cpu_by_pid(pids).values())


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings; a process new since `before` counts from zero, one
    gone by `after` counts for nothing (its last moments are lost)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def process_tree(root: int) -> set[int]:
    """`root` and all its live descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents[int(entry.name)] = stat[0]
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return tree


def cpu_pinning(cpu: str | None) -> list[str]:
    return ["taskset", "-c", cpu] if cpu else []


class Server:
    """A server process on 127.0.0.1:`port`, its output in `log`."""

    def __init__(
        self,
        name: str,
        command: list[str],
        env: Mapping[str, str],
        port: int,
        workdir: Path,
        ready_path: str,
    ) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / f"{name}.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            command,
            env=dict(env),
            cwd=workdir,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready(ready_path)

    def _wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                if httpx.get(self.url + path, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not answer {path} within {timeout:g} s:\n{self.tail()}"
        )

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the server's process tree (workers included)."""
        return cpu_seconds(process_tree(self.proc.pid))

    def wait_idle(self, busy: float = 0.05, timeout: float = 120.0) -> float:
        """Wait until the server uses under `busy` of a CPU (requests a load generator gave
        up on, such as queued logins, still run to the end and would steal the next run's
        CPU). Returns the seconds waited."""
        started = time.monotonic()
        last = self.cpu_seconds()
        while time.monotonic() - started < timeout:
            time.sleep(0.25)
            now = self.cpu_seconds()
            if now - last < busy * 0.25:
                break
            last = now
        return time.monotonic() - started

    def tail(self, lines: int = 30) -> str:
        self._log_file.flush()
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        """SIGTERM (graceful shutdown), then SIGKILL after 20 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log_file.close()


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """How a Conduit server is started: its workers, its CPUs (taskset), extra settings."""

    workers: int
    cpu: str | None
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:  # of its log file
        extra = "".join(f"-{k.lower()}={v}" for k, v in self.settings)
        return f"conduit-{self.workers}w{extra}"

    def title(self) -> str:  # the settings are the row's own title's to tell
        return f"{self.workers} worker" + ("s" if self.workers > 1 else "")

    def describe(self) -> dict[str, Any]:
        return {"workers": self.workers, "cpu": self.cpu, "settings": dict(self.settings)}


def all_cpus(server_cpu: str | None, wrk_cpu: str | None) -> str | None:
    """The CPUs of a server of more than one worker: the server's and wrk's together when
    both are pinned (the server then has the cores wrk shares), else none (not pinned)."""
    return f"{server_cpu},{wrk_cpu}" if server_cpu and wrk_cpu else None


def conduit_command(port: int, workers: int, access_log: bool, cpu: str | None) -> list[str]:
    """`conduit serve` as production runs it (migrations already applied by the seeder)."""
    executable = Path(sys.executable).with_name("conduit")
    cmd = [str(executable), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), "--no-migrate"]
    if not access_log:
        cmd.append("--no-access-log")
    return cpu_pinning(cpu) + cmd


def ceiling_command(port: int, workers: int, cpu: str | None) -> list[str]:
    """The ceiling app under uvicorn, with the same worker count and no access log."""
    cmd = [sys.executable, "-m", "uvicorn", "bench.ceiling:app", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers), "--no-access-log"]
    cmd += ["--log-level", "warning", "--no-server-header"]
    return cpu_pinning(cpu) + cmd


def with_root_on_path(env: Mapping[str, str]) -> dict[str, str]:
    path = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}
