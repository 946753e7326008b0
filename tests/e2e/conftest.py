"""Fixtures for the end-to-end tests: the Taiga simulator binary and `taiga-mcp` driven by the
official MCP Python SDK over stdio or Streamable HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, AsyncIterator, TextIO

import pytest
from mcp import Client, StdioServerParameters, stdio_client

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
TAIGA_MCP = Path(os.environ.get("TAIGA_MCP_BIN", TARGET / "debug" / "taiga-mcp"))
TAIGA_SIM = Path(os.environ.get("TAIGA_SIM_BIN", TARGET / "debug" / "taiga-sim"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Simulator:
    """A running `taiga-sim` process on an ephemeral loopback port. `url` is Taiga's URL (with the
    base path, when one is given); the control API (`/__sim/...`) is at the origin's root."""

    def __init__(self, seed: str = "demo", *extra_args: str) -> None:
        self.process = subprocess.Popen(
            [str(TAIGA_SIM), "--port", "0", "--seed", seed, *extra_args],
            stdout=subprocess.PIPE,
            stderr=sys.stderr,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        assert line.startswith("taiga-sim listening on "), line
        self.url = line.removeprefix("taiga-sim listening on ")
        parts = urllib.parse.urlsplit(self.url)
        self.control_url = f"{parts.scheme}://{parts.netloc}"
        self.context = None

    def open(self, request: urllib.request.Request | str) -> Any:
        return urllib.request.urlopen(request, timeout=5, context=self.context)

    def requests(self) -> list[dict[str, Any]]:
        with self.open(f"{self.control_url}/__sim/requests") as response:
            return json.load(response)

    def clear_requests(self) -> None:
        self.open(urllib.request.Request(f"{self.control_url}/__sim/requests", method="DELETE")).close()

    def control(self, path: str, payload: dict[str, Any] | None = None, method: str = "POST") -> None:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.control_url}/__sim/{path}", data=data, method=method, headers={"content-type": "application/json"}
        )
        self.open(request).close()

    def inject(self, fault: dict[str, Any], path_prefix: str | None = None, times: int | None = None) -> None:
        self.control("faults", {"fault": fault, "path_prefix": path_prefix, "times": times})

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def simulator() -> AsyncIterator[Simulator]:
    sim = Simulator()
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cwasm-cache")


def server_env(simulator: Simulator, cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "TAIGA_API_URL": simulator.url,
        "ALLOW_HTTP_TAIGA": "true",
        "TAIGA_MCP_CACHE_DIR": str(cache_dir),
        "LOG_LEVEL": "info",
        # Every tool: the tests exercise all of them; test_toolsets.py tests the choices.
        "TAIGA_TOOLSETS": "all",
    }
    env.update(extra)
    return env


@contextlib.asynccontextmanager
async def connect(
    simulator: Simulator, cache_dir: Path, errlog: TextIO = sys.stderr, **extra: str
) -> AsyncIterator[Client]:
    """A real MCP client connected to a freshly spawned `taiga-mcp` over stdio; its stderr goes to `errlog`."""
    params = StdioServerParameters(command=str(TAIGA_MCP), env=server_env(simulator, cache_dir, **extra))
    async with Client(stdio_client(params, errlog=errlog)) as client:
        yield client


def register(simulator: Simulator, username: str, password: str) -> None:
    """A Taiga user of a test's own (through Taiga's public registration), whose password is unlike
    anything else in a log."""
    data = json.dumps({"type": "public", "username": username, "full_name": username,
                       "email": f"{username}@example.com", "password": password, "accepted_terms": True}).encode()
    request = urllib.request.Request(
        f"{simulator.url}/api/v1/auth/register", data=data, method="POST", headers={"content-type": "application/json"}
    )
    simulator.open(request).close()


def taiga(simulator: Simulator, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    """Calls Taiga's API as admin, as a person would in Taiga's web page (for what the bridge
    only reads, such as custom field definitions). A GET takes no payload."""

    def send(path: str, payload: dict[str, Any] | None, token: str | None = None) -> Any:
        headers = {"content-type": "application/json"} if payload is not None else {}
        if token:
            headers["authorization"] = f"Bearer {token}"
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{simulator.url}/api/v1{path}", data=data,
                                         method=method if token else "POST", headers=headers)
        with simulator.open(request) as response:
            return json.load(response)

    token = send("/auth", {"type": "normal", "username": "admin", "password": "123123"})["auth_token"]
    return send(path, payload, token)


def body(result: Any) -> dict[str, Any]:
    """The structured content of a tool result, checked against its text twin."""
    assert result.structured_content is not None
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def call_ok(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.structured_content
    return body(result)


async def call_error(client: Client, name: str, arguments: dict[str, Any], code: str) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert result.is_error, result.structured_content
    error = body(result)
    assert error["code"] == code, error
    assert set(error) == {"code", "message", "details"}
    return error


class Session:
    """A logged-in client: `await s("tool", **args)` calls a tool with the session id filled in."""

    def __init__(self, client: Client, session_id: str) -> None:
        self.client = client
        self.session_id = session_id

    async def __call__(self, tool: str, **args: Any) -> dict[str, Any]:
        return await call_ok(self.client, tool, {"session_id": self.session_id, **args})

    async def error(self, tool: str, code: str, **args: Any) -> dict[str, Any]:
        return await call_error(self.client, tool, {"session_id": self.session_id, **args}, code)


async def login(client: Client, username: str = "admin", password: str = "123123") -> Session:
    """Signs in with `login` (the simulator's users share the password `123123`)."""
    result = await call_ok(client, "login", {"username": username, "password": password})
    return Session(client, result["session_id"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HttpServer:
    """A `taiga-mcp --transport http` process on a free port; its stderr goes to `errlog`."""

    def __init__(self, simulator: Simulator, cache_dir: Path, errlog: TextIO = sys.stderr,
                 open_files: int | None = None, **extra: str) -> None:
        """`open_files` caps the process's descriptors (soft and hard), as `ulimit -n` would."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **server_env(simulator, cache_dir, **extra)}

        def limit_descriptors() -> None:
            if open_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

        self.process = subprocess.Popen(
            [str(TAIGA_MCP), "--transport", "http", "--listen", f"127.0.0.1:{self.port}"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errlog, preexec_fn=limit_descriptors,
        )
        # The operators' endpoints are on their own listener when one is set.
        admin = extra.get("TAIGA_ADMIN_LISTEN")
        self.health = f"http://{admin}" if admin else self.base
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.get("/healthz", self.health)[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("taiga-mcp did not start")

    def get(self, path: str, base: str | None = None) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"{base or self.base}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def open(self, body: bytes, headers: dict[str, str]) -> Any:
        """POSTs `body` to `/mcp` with an MCP client's headers; the response (HTTPError when refused)."""
        request = urllib.request.Request(f"{self.base}/mcp", data=body, method="POST", headers={
            "content-type": "application/json", "accept": "application/json, text/event-stream", **headers})
        return urllib.request.urlopen(request, timeout=10)

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            with self.open(body, headers) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)
