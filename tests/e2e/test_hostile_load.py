"""A shared HTTP deployment under a hostile client: half-open connections, bodies that never come,
MCP sessions opened without end, and what is not a JSON-RPC message, over HTTP and stdio (issue 28,
items 1, 2 and 9)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from hashlib import sha256
from pathlib import Path
from typing import Any, Iterator

import pytest
from mcp import Client

from conftest import TAIGA_MCP, HttpServer, Simulator, server_env

pytestmark = pytest.mark.anyio

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}}


def half_open(port: int, source: str) -> socket.socket:
    """A socket from `source` that sent the start of a request and stops there."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return sock


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds (whatever it says first)."""
    sock.settimeout(within)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return False


def initialize(server: HttpServer, headers: dict[str, str] | None = None) -> tuple[int, str | None, dict[str, Any]]:
    """A raw `initialize`: (status, the session it opened, the JSON-RPC answer)."""
    try:
        with server.open(json.dumps(INITIALIZE).encode(), headers or {}) as response:
            text = response.read().decode()
            session = response.headers.get("mcp-session-id")
            status = response.status
    except urllib.error.HTTPError as refused:
        return refused.code, None, json.loads(refused.read().decode() or "{}")
    data = [line[5:] for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
    return status, session, json.loads(data[-1] if data else text)


def close_session(server: HttpServer, session: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(f"{server.base}/mcp", method="DELETE",
                                     headers={"mcp-session-id": session, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.fixture
def guarded(simulator: Simulator, cache_dir: Path) -> Iterator[HttpServer]:
    # 256 descriptors, as a small `ulimit -n`: more half-open sockets than that would have shut
    # every client out before the caps.
    server = HttpServer(simulator, cache_dir, open_files=256, HTTP_MAX_CONNECTIONS="150",
                        HTTP_MAX_CONNECTIONS_PER_CLIENT="40", HTTP_HEADER_TIMEOUT="3", HTTP_BODY_TIMEOUT="2")
    yield server
    server.stop()


async def test_a_good_client_keeps_working_while_half_open_sockets_are_open(guarded: HttpServer) -> None:
    flood = [half_open(guarded.port, source) for source in ("127.0.0.2", "127.0.0.3") for _ in range(150)]
    try:
        time.sleep(0.5)
        assert guarded.get("/healthz") == (200, "ok\n")
        async with Client(f"{guarded.base}/mcp") as client:
            assert any(tool.name == "login" for tool in (await client.list_tools()).tools)
        refused = sum(closed_by_server(sock, 0.05) for sock in flood)
        assert refused >= 300 - 2 * 40, f"only {refused} of the flood were refused past the per-client cap"
        _, metrics = guarded.get("/metrics")
        assert 'taiga_mcp_http_refusals_total{limit="HTTP_MAX_CONNECTIONS_PER_CLIENT"}' in metrics
        # The ones held are closed once their headers are overdue.
        held = [sock for sock in flood if sock.fileno() != -1]
        assert all(closed_by_server(sock, 8) for sock in held[:5]), "half-open sockets outlived the header timeout"
    finally:
        for sock in flood:
            sock.close()


def test_the_total_cap_refuses_what_many_addresses_open(guarded: HttpServer) -> None:
    flood = [half_open(guarded.port, f"127.0.1.{n}") for n in range(1, 6) for _ in range(35)]
    try:
        time.sleep(0.5)
        refused = sum(closed_by_server(sock, 0.01) for sock in flood)
        assert refused >= 175 - 150, refused
    finally:
        for sock in flood:
            sock.close()
    time.sleep(0.5)
    status, metrics = guarded.get("/metrics")
    assert status == 200 and 'taiga_mcp_http_refusals_total{limit="HTTP_MAX_CONNECTIONS"}' in metrics


def test_a_body_that_never_comes_is_cut_off(guarded: HttpServer) -> None:
    sock = socket.create_connection(("127.0.0.1", guarded.port), timeout=10)
    with sock:
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - started < 6
        assert closed_by_server(sock, 5)


@pytest.fixture
def few_sessions(simulator: Simulator, cache_dir: Path) -> Iterator[HttpServer]:
    server = HttpServer(simulator, cache_dir, MCP_SESSIONS_PER_CLIENT="3", MCP_SESSION_IDLE_SECONDS="2")
    yield server
    server.stop()


def test_sessions_are_capped_per_client_and_forgotten_when_they_end(few_sessions: HttpServer) -> None:
    opened = []
    for _ in range(3):
        status, session, _ = initialize(few_sessions)
        assert status == 200 and session
        opened.append(session)
    status, session, answer = initialize(few_sessions)
    assert status == 429 and session is None, answer
    assert answer["error"]["code"] == -32000 and "MCP_SESSIONS_PER_CLIENT" in answer["error"]["message"]
    assert close_session(few_sessions, opened[0]) in (200, 202)
    status, session, _ = initialize(few_sessions)
    assert status == 200 and session, "a closed session frees its place"
    # Idle past MCP_SESSION_IDLE_SECONDS, every session ends and its place is free again.
    time.sleep(4)
    for _ in range(3):
        status, session, _ = initialize(few_sessions)
        assert status == 200 and session
    _, metrics = few_sessions.get("/metrics")
    assert 'taiga_mcp_http_refusals_total{limit="MCP_SESSIONS_PER_CLIENT"} 1' in metrics


def resident_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def test_the_memory_of_ended_sessions_is_given_back(simulator: Simulator, cache_dir: Path) -> None:
    server = HttpServer(simulator, cache_dir, MCP_SESSIONS_PER_CLIENT="1000", MCP_SESSION_IDLE_SECONDS="2")
    try:
        assert initialize(server)[0] == 200
        time.sleep(4)
        before = resident_kib(server.process.pid)
        for _ in range(1000):
            assert initialize(server)[0] == 200
        held = resident_kib(server.process.pid) - before
        # Idle past MCP_SESSION_IDLE_SECONDS, then the trim a second after the last one ended.
        time.sleep(6)
        kept = resident_kib(server.process.pid) - before
    finally:
        server.stop()
    # 1,000 sessions held about 31 MiB here (debug build); before the trim glibc kept all of it.
    assert held > 20_000, f"1,000 open sessions held only {held} KiB: the measure is void"
    assert kept < held / 4, f"{kept} KiB of the {held} KiB the sessions held stayed after they ended"


def test_initialize_counts_against_the_tenant_s_quota_and_sessions_cap(
        simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(f"""
[[tenant]]
id = "acme"
api_key_sha256 = "{sha256(b'acme-key').hexdigest()}"
taiga_api_url = "{simulator.url}"
calls_per_minute = 4
max_mcp_sessions = 2
""")
    server = HttpServer(simulator, cache_dir, TAIGA_MCP_TENANTS=str(tenants))
    try:
        key = {"authorization": "Bearer acme-key"}
        first = initialize(server, key)
        second = initialize(server, key)
        assert first[0] == second[0] == 200
        status, _, answer = initialize(server, key)
        assert status == 429 and "MCP_SESSIONS_PER_TENANT" in answer["error"]["message"], answer
        assert close_session(server, first[1], key) in (200, 202)
        status, _, answer = initialize(server, key)
        assert status == 200, "the closed session's place"
        status, _, answer = initialize(server, key)
        assert status == 429 and "calls_per_minute" in answer["error"]["message"], answer
    finally:
        server.stop()


def raw_post(server: HttpServer, body: bytes) -> tuple[int, dict[str, Any]]:
    try:
        with server.open(body, {}) as response:
            return response.status, json.loads(response.read().decode())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read().decode())


def test_what_is_not_a_message_gets_its_json_rpc_error_over_http(few_sessions: HttpServer) -> None:
    for body, code in [(b'{"jsonrpc": "2.0", "id": 1, "method": ', -32700),
                       (b'{"jsonrpc": "2.0", "id": 1, "method": "\xff\xfe"}', -32700),
                       (json.dumps([INITIALIZE]).encode(), -32600),
                       (b'{"id": 5, "method": "ping"}', -32600)]:
        status, answer = raw_post(few_sessions, body)
        assert status == 400, (body, status, answer)
        assert answer["jsonrpc"] == "2.0" and answer["error"]["code"] == code, (body, answer)


def stdio_exchange(simulator: Simulator, cache_dir: Path, lines: list[bytes], answers: int) -> list[dict[str, Any]]:
    """Writes `lines` to a stdio server and reads `answers` messages back."""
    process = subprocess.Popen([str(TAIGA_MCP)], env=server_env(simulator, cache_dir), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdin and process.stdout
        for line in lines:
            process.stdin.write(line)
        process.stdin.flush()
        return [json.loads(process.stdout.readline()) for _ in range(answers)]
    finally:
        process.kill()
        process.wait()


def test_stdio_answers_every_line_that_is_not_a_message(simulator: Simulator, cache_dir: Path) -> None:
    initialized = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode() + b"\n"
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_projects", "arguments": "x"}}
    answers = stdio_exchange(simulator, cache_dir, [
        json.dumps(INITIALIZE).encode() + b"\n",
        initialized,
        b"this is not json\n",
        b"{" + b" " * (16 * 1024 * 1024) + b"}\n",
        json.dumps(call).encode() + b"\n",
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "ping"}).encode() + b"\n",
    ], answers=5)
    # Replies to lines that are not messages come as soon as the line is read, maybe before
    # rmcp's answer to an earlier message: order only within each kind.
    errors = [answer for answer in answers if answer.get("id") is None]
    assert [error["error"]["code"] for error in errors] == [-32700, -32600], errors
    by_id = {answer["id"]: answer for answer in answers if answer.get("id") is not None}
    assert "result" in by_id[1]
    assert by_id[2]["error"]["code"] == -32602, by_id[2]
    assert "`arguments` (an object)" in by_id[2]["error"]["message"]
    assert by_id[3]["result"] == {}, "the server goes on serving"
