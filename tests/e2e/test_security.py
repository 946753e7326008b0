"""Attack and fault tests: SSRF probes, login protection, sessions, sandbox traps, hostile Taiga answers, secrets in logs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from conftest import Simulator, call_error, call_ok, connect

pytestmark = pytest.mark.anyio

ADMIN = {"username": "admin", "password": "123123"}
SIM_TOKEN_PREFIX = "eyJhbGciOiJIUzI1NiJ9"


def ssrf_probes(port: int) -> list[str]:
    return [
        f"ftp://127.0.0.1:{port}",
        "file:///etc/passwd",
        f"gopher://127.0.0.1:{port}",
        f"http://127.0.0.1:{port}@169.254.169.254",
        f"http://admin@127.0.0.1:{port}",
        f"http://127.0.0.1:{port}#@evil.example",
        f"http://2130706433:{port}",
        f"http://0177.0.0.1:{port}",
        f"http://0x7f.0.0.1:{port}",
        f"http://127.1:{port}",
        f"http://%31%32%37.0.0.1:{port}",
        f"http://[::1]:{port}",
        f"http://[::ffff:127.0.0.1]:{port}",
        f"http://localhost:{port}",
        f"http://127.0.0.2:{port}",
        f"http://127.0.0.1:{port + 1}",
        f"https://127.0.0.1:{port}",
        f"http://127.0.0.1:{port}/../admin",
        f"http://127.0.0.1:{port}?next=http://evil.example",
        "http://169.254.169.254",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal",
        "http://10.0.0.1",
        "http://192.168.1.1",
        "http://172.16.0.1",
        "http://[fd00::1]",
        "http://[fe80::1]",
        "https://evil.example",
        "evil.example",
        f"http://127.0.0.1.nip.io:{port}",
    ]


async def test_ssrf_probes_are_all_refused_and_never_reach_taiga(simulator: Simulator, cache_dir: Path) -> None:
    port = int(simulator.url.rsplit(":", 1)[1])
    probes = ssrf_probes(port)
    assert len(probes) >= 20
    async with connect(simulator, cache_dir, LOGIN_RATE_LIMIT="1000") as client:
        simulator.clear_requests()
        for host in probes:
            result = await client.call_tool("login", {**ADMIN, "host": host})
            assert result.is_error, host
            assert result.structured_content["code"] in {"HOST_NOT_ALLOWED", "INVALID_INPUT"}, (host, result.structured_content)
    assert simulator.requests() == []


async def test_login_attempts_are_limited_then_locked_out(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir, LOGIN_RATE_LIMIT="3", LOGIN_LOCKOUT_MINUTES="15") as client:
        simulator.clear_requests()
        for _ in range(3):
            await call_error(client, "login", {"username": "admin", "password": "guess"}, "INVALID_CREDENTIALS")
        error = await call_error(client, "login", ADMIN, "RATE_LIMITED")
        assert error["details"]["retry_after_seconds"] == 900
        await call_error(client, "login", {"username": "bob", "password": "123123"}, "RATE_LIMITED")
    assert len([r for r in simulator.requests() if r["path"] == "/api/v1/auth"]) == 3


async def test_taiga_throttling_on_login_is_rate_limited(simulator: Simulator, cache_dir: Path) -> None:
    simulator.control("throttle", {"login_fail": 1})
    async with connect(simulator, cache_dir) as client:
        await call_error(client, "login", {"username": "admin", "password": "guess"}, "INVALID_CREDENTIALS")
        error = await call_error(client, "login", ADMIN, "RATE_LIMITED")
        assert error["details"]["retry_after_seconds"] == 60


async def test_sessions_expire_are_capped_and_end_on_logout(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir, MAX_SESSIONS_PER_USER="2", SESSION_EXPIRY="2") as client:
        first = (await call_ok(client, "login", ADMIN))["session_id"]
        second = (await call_ok(client, "login", ADMIN))["session_id"]
        third = (await call_ok(client, "login", ADMIN))["session_id"]
        await call_error(client, "session_status", {"session_id": first}, "SESSION_INVALID")
        await call_ok(client, "session_status", {"session_id": second})
        await call_ok(client, "logout", {"session_id": second})
        await call_error(client, "list_projects", {"session_id": second}, "SESSION_INVALID")
        await asyncio.sleep(2.2)
        await call_error(client, "list_projects", {"session_id": third}, "SESSION_EXPIRED")
        await call_error(client, "list_projects", {"session_id": third}, "SESSION_INVALID")


FAULTS = [
    ({"kind": "latency", "ms": 2500}, "TAIGA_UNAVAILABLE"),
    ({"kind": "status", "status": 500}, "TAIGA_UNAVAILABLE"),
    ({"kind": "status", "status": 502}, "TAIGA_UNAVAILABLE"),
    ({"kind": "status", "status": 503}, "TAIGA_UNAVAILABLE"),
    ({"kind": "malformed_json"}, "TAIGA_ERROR"),
    ({"kind": "close_mid_body"}, "TAIGA_UNAVAILABLE"),
    ({"kind": "endless_body"}, "TIMEOUT"),
    ({"kind": "throttle", "wait_seconds": 30}, "RATE_LIMITED"),
    ({"kind": "oversized", "bytes": 3 * 1024 * 1024}, "TAIGA_ERROR"),
]


async def test_every_fault_gives_its_code_and_the_next_call_works(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir, REQUEST_TIMEOUT="1", CALL_TIMEOUT="2", MAX_RESPONSE_MB="2") as client:
        session = {"session_id": (await call_ok(client, "login", ADMIN))["session_id"]}
        for fault, code in FAULTS:
            simulator.inject(fault, path_prefix="/api/v1/projects", times=1)
            error = await call_error(client, "list_projects", session, code)
            if code == "RATE_LIMITED":
                assert error["details"]["retry_after_seconds"] == 30
            assert (await call_ok(client, "list_projects", session))["total"] == 3, fault


async def test_a_trapping_call_is_contained(simulator: Simulator, cache_dir: Path) -> None:
    """A response that makes the component outgrow its memory limit traps it; the next call starts clean."""
    async with connect(simulator, cache_dir, CALL_MEMORY_MB="8", MAX_RESPONSE_MB="64") as client:
        session = {"session_id": (await call_ok(client, "login", ADMIN))["session_id"]}
        simulator.inject({"kind": "oversized", "bytes": 24 * 1024 * 1024}, path_prefix="/api/v1/projects", times=1)
        error = await call_error(client, "list_projects", session, "INTERNAL")
        assert "afresh" in error["message"] and "wasm" not in error["message"].lower()
        assert (await call_ok(client, "list_projects", session))["total"] == 3


async def test_no_secret_reaches_the_logs_at_trace_level(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    with log.open("w") as errlog:
        async with connect(simulator, cache_dir, errlog=errlog, LOG_LEVEL="trace") as client:
            session_id = (await call_ok(client, "login", ADMIN))["session_id"]
            session = {"session_id": session_id}
            await call_ok(client, "list_projects", session)
            project = (await call_ok(client, "create_project", {**session, "name": "Secret test", "description": "d"}))["id"]
            await call_ok(client, "create_user_story", {**session, "project_id": project, "title": "t"})
            await call_error(client, "login", {"username": "admin", "password": "hunter2-wrong"}, "INVALID_CREDENTIALS")
            await call_ok(client, "logout", session)
    text = log.read_text()
    assert "tool call" in text and "TRACE" in text, "the log was captured at trace level"
    for secret in ["123123", "hunter2-wrong", SIM_TOKEN_PREFIX, session_id]:
        assert secret not in text, f"{secret!r} leaked into the logs"
    assert session_id[:8] in text, "truncated session ids identify calls in the audit log"


async def test_json_logs_are_an_audit_trail(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    with log.open("w") as errlog:
        async with connect(simulator, cache_dir, errlog=errlog, LOG_FORMAT="json") as client:
            session_id = (await call_ok(client, "login", ADMIN))["session_id"]
            await call_error(client, "get_project", {"session_id": session_id, "project_id": 999}, "NOT_FOUND")
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    audit = [line for line in lines if line.get("target") == "taiga_mcp::audit"]
    assert [(entry["tool"], entry["outcome"]) for entry in audit] == [("login", "OK"), ("get_project", "NOT_FOUND")]
    assert audit[1]["session"] == session_id[:8]
    assert all(isinstance(entry["duration_ms"], float) for entry in audit)


async def test_redirects_are_not_followed(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        session = {"session_id": (await call_ok(client, "login", ADMIN))["session_id"]}
        simulator.clear_requests()
        simulator.inject({"kind": "redirect", "location": "http://169.254.169.254/latest/meta-data/"}, path_prefix="/api/v1/projects", times=1)
        error = await call_error(client, "list_projects", session, "TAIGA_ERROR")
        assert "302" in error["message"]
        simulator.inject({"kind": "redirect", "location": f"{simulator.url}/api/v1/users/me"}, path_prefix="/api/v1/projects", times=1)
        await call_error(client, "list_projects", session, "TAIGA_ERROR")
    assert [r["path"] for r in simulator.requests()] == ["/api/v1/projects", "/api/v1/projects"]
