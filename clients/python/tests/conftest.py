"""The live server the suite talks to: real server and worker processes from the repo's dist/, on the FerretDB and
Redis that `npm run test:clients` provides through SIGHTLINE_TEST_* variables."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from sightline import Client


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through `npm run test:clients`, which starts the databases", pytrace=False)
    return value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    """A server or worker child process, with its output kept for assertions and diagnosis."""

    popen: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def wait_for(self, needle: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if needle in line:
                    return line
            if self.popen.poll() is not None:
                break
            time.sleep(0.02)
        tail = "\n".join(self.lines[-30:])
        raise RuntimeError(f"no line with {needle!r} (exit {self.popen.poll()}); output:\n{tail}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Live:
    """One isolated deployment: its own database and queue prefix, a server and a worker."""

    database: str
    admin_key: str
    extra_env: dict[str, str]
    server: Process | None = None
    worker: Process | None = None
    port: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", ""),
            "MONGODB_URL": _required("SIGHTLINE_TEST_MONGODB_URL"),
            "REDIS_URL": _required("SIGHTLINE_TEST_REDIS_URL"),
            "MONGODB_DATABASE": self.database,
            "SIGHTLINE_QUEUE_PREFIX": "{" + self.database + "}",
            "SIGHTLINE_ADMIN_KEY": self.admin_key,
            "SIGHTLINE_LOG_LEVEL": "info",
            "SIGHTLINE_HEALTH_INTERVAL_MS": "300",
            "SIGHTLINE_STATS_INTERVAL_MS": "1000",
            **json.loads(os.environ.get("SIGHTLINE_TEST_SERVER_ENV", "{}")),
            **self.extra_env,
            **extra,
        }

    def _spawn(self, entry: str, env: dict[str, str]) -> Process:
        root = _required("SIGHTLINE_TEST_ROOT")
        node = _required("SIGHTLINE_TEST_NODE")
        popen = subprocess.Popen(
            [node, "--enable-source-maps", os.path.join(root, "dist", "server", "src", f"{entry}.js")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=root,
        )
        process = Process(popen)

        def pump() -> None:
            assert popen.stdout is not None
            for line in popen.stdout:
                process.lines.append(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()
        return process

    def start_server(self, port: int = 0, **extra: str) -> None:
        self.server = self._spawn("main", self.env(SIGHTLINE_PORT=str(port), **extra))
        line = self.server.wait_for('"msg":"listening"')
        self.port = int(json.loads(line)["port"])

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", self.env())
        self.worker.wait_for('"msg":"worker started"')

    def stop(self) -> None:
        for process in (self.server, self.worker):
            if process is not None:
                process.stop()


def new_live(label: str, **extra_env: str) -> Live:
    return Live(database=f"t_py_{label}_{secrets.token_hex(4)}", admin_key=f"admin-{secrets.token_hex(16)}", extra_env=dict(extra_env))


@pytest.fixture(scope="session")
def live() -> Iterator[Live]:
    deployment = new_live("main")
    try:
        deployment.start_server()
        deployment.start_worker()
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="session")
def admin(live: Live) -> Iterator[Client]:
    with Client(live.address, api_key=live.admin_key) as client:
        yield client


@dataclass
class ProjectAccess:
    name: str
    key: str
    key_id: str
    client: Client


@pytest.fixture
def project(admin: Client, live: Live) -> Iterator[ProjectAccess]:
    """A fresh project with its own API key, and a client that uses that key."""
    name = f"p{secrets.token_hex(4)}"
    admin.create_project(name, display_name="pytest")
    key, secret = admin.create_api_key(name, display_name="pytest key")
    with Client(live.address, api_key=secret, project=name) as client:
        yield ProjectAccess(name=name, key=secret, key_id=key.id, client=client)
