"""The suite's processes other than PostgreSQL and Redis: `conduit serve` instances and
HAProxy in front of them, each a child process on a port of its own, logging to a file."""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

CONDUIT = str(Path(sys.executable).with_name("conduit"))
HAPROXY = "/usr/sbin/haproxy"

# Below Linux's ephemeral range, where outgoing connections take their local ports.
PORTS = range(20000, 32768)
_next_port = itertools.count(random.randrange(len(PORTS)))


def free_port() -> int:
    """A port nothing listens on now; ports are handed out in turn, never twice in a run."""
    while True:
        port = PORTS[next(_next_port) % len(PORTS)]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def wait_for(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Wait until `url` answers 200; False on timeout or when `process` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


class Instance:
    """One `conduit serve` process, restarted on the same port with the same log file."""

    def __init__(self, name: str, port: int, workdir: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.port = port
        self.workdir = workdir
        self.env = dict(env)
        self.log = workdir / f"conduit-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, settings: Mapping[str, str] | None = None, timeout: float = 60) -> None:
        """Start it (migrations are the stack's, run once) and wait until it listens."""
        env = {**os.environ, **self.env, **(settings or {})}
        argv = [CONDUIT, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*argv, "--no-migrate", "--no-access-log"],
                env=env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not wait_for(f"{self.url}/health", timeout, self.process):
            raise RuntimeError(f"instance {self.name} did not start (log: {self.log})")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: signal.Signals, timeout: float = 60) -> None:
        """Send `signum` and wait for the process to exit (SIGKILL after `timeout`)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class HAProxy:
    """HAProxy in the foreground (-db), balancing over the instances, each checked with
    `GET /ready`; its stats socket tells which servers it holds up."""

    def __init__(self, port: int, servers: Mapping[str, int], workdir: Path) -> None:
        self.port = port
        self.servers = dict(servers)
        self.config = workdir / "haproxy.cfg"
        self.socket = workdir / "haproxy.sock"
        self.log = workdir / "haproxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def render(self) -> str:
        servers = "\n".join(
            f"  server {name} 127.0.0.1:{port} check" for name, port in self.servers.items()
        )
        # Only abnormal requests are logged (dontlog-normal): their termination flags say
        # which side failed. Connection failures are retried and redispatched to the
        # other server, never a request that reached an instance (POSTs are not idempotent).
        return f"""global
  maxconn 4096
  stats socket {self.socket} mode 600 level admin
  log stdout format raw local0

defaults
  mode http
  log global
  option httplog
  option dontlog-normal
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout check 3s
  retries 3
  retry-on conn-failure
  option redispatch

frontend conduit
  bind 127.0.0.1:{self.port}
  default_backend instances

backend instances
  balance roundrobin
  option httpchk GET /ready
  http-check expect status 200
  default-server inter 1s fall 2 rise 2
{servers}
"""

    def start(self) -> None:
        self.config.write_text(self.render())
        check = subprocess.run(
            [HAPROXY, "-c", "-q", "-f", str(self.config)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its configuration: {check.stderr.strip()}")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while not self.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def states(self) -> dict[str, str]:
        """Each server's status as HAProxy sees it (UP, DOWN, "UP 1/2", ...)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        states: dict[str, str] = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "instances" and row.get("svname") in self.servers:
                states[row["svname"]] = row.get("status", "")
        return states

    def wait_up(self, names: list[str], timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states()
            if all(states.get(name) == "UP" for name in names):
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
