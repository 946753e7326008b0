"""Sessions in a real Redis shared by several `taiga-mcp` processes."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from conftest import Simulator, call_error, call_ok, connect

pytestmark = pytest.mark.anyio

ADMIN = {"username": "admin", "password": "123123"}


class Redis:
    """A throwaway `redis-server` on a free loopback port, without persistence."""

    def __init__(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is not installed (tests/run installs the Debian package)"
        self.binary = server
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis() -> Iterator[Redis]:
    server = Redis()
    yield server
    server.stop()


async def test_two_processes_share_sessions(simulator: Simulator, cache_dir: Path, redis: Redis) -> None:
    async with connect(simulator, cache_dir, SESSION_STORE=redis.url) as first:
        async with connect(simulator, cache_dir, SESSION_STORE=redis.url) as second:
            session = {"session_id": (await call_ok(first, "login", ADMIN))["session_id"]}
            assert (await call_ok(second, "list_projects", session))["total"] == 3
            await call_ok(second, "logout", session)
            await call_error(first, "list_projects", session, "SESSION_INVALID")


async def test_sessions_survive_a_restart(simulator: Simulator, cache_dir: Path, redis: Redis) -> None:
    async with connect(simulator, cache_dir, SESSION_STORE=redis.url) as before:
        session = {"session_id": (await call_ok(before, "login", ADMIN))["session_id"]}
    async with connect(simulator, cache_dir, SESSION_STORE=redis.url) as after:
        status = await call_ok(after, "session_status", session)
        assert status["username"] == "admin"


async def test_login_limits_are_shared_too(simulator: Simulator, cache_dir: Path, redis: Redis) -> None:
    async with connect(simulator, cache_dir, SESSION_STORE=redis.url, LOGIN_RATE_LIMIT="2") as first:
        async with connect(simulator, cache_dir, SESSION_STORE=redis.url, LOGIN_RATE_LIMIT="2") as second:
            await call_error(first, "login", {"username": "admin", "password": "guess"}, "INVALID_CREDENTIALS")
            await call_error(second, "login", {"username": "admin", "password": "guess"}, "INVALID_CREDENTIALS")
            await call_error(first, "login", ADMIN, "RATE_LIMITED")


async def test_a_redis_outage_is_a_clear_error_and_recovers(simulator: Simulator, cache_dir: Path, redis: Redis) -> None:
    async with connect(simulator, cache_dir, SESSION_STORE=redis.url) as client:
        session = {"session_id": (await call_ok(client, "login", ADMIN))["session_id"]}
        redis.stop()
        error = await call_error(client, "list_projects", session, "STORE_UNAVAILABLE")
        assert "session store" in error["message"]
        await call_error(client, "login", ADMIN, "STORE_UNAVAILABLE")
        redis.start()
        deadline = time.monotonic() + 15
        while True:
            result = await client.call_tool("login", ADMIN)
            if not result.is_error or time.monotonic() > deadline:
                break
        assert not result.is_error, result.structured_content
        await call_ok(client, "list_projects", {"session_id": result.structured_content["session_id"]})


def test_an_unreachable_redis_stops_the_server_at_start(cache_dir: Path) -> None:
    from conftest import TAIGA_MCP

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [str(TAIGA_MCP)],
        env={"PATH": "/usr/bin:/bin", "SESSION_STORE": f"redis://127.0.0.1:{port}/0", "TAIGA_MCP_CACHE_DIR": str(cache_dir)},
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0 and "SESSION_STORE" in done.stderr and done.stdout == ""
