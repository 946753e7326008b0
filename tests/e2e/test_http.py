"""Streamable HTTP for shared use: a real MCP client over HTTP, DNS-rebinding checks, the body cap,
per-address login limits, health and metrics, and a graceful stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from mcp import Client

from conftest import TAIGA_MCP, HttpServer, Simulator, call_error, call_ok, free_port, server_env

pytestmark = pytest.mark.anyio

ADMIN = {"username": "admin", "password": "123123"}


@pytest.fixture
def http_server(simulator: Simulator, cache_dir: Path) -> Iterator[HttpServer]:
    server = HttpServer(simulator, cache_dir, LOGIN_RATE_LIMIT="3")
    yield server
    server.stop()


async def test_a_real_client_over_streamable_http(http_server: HttpServer) -> None:
    async with Client(f"{http_server.base}/mcp") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"login", "list_projects", "bulk_update_user_stories"} <= names
        session = {"session_id": (await call_ok(client, "login", ADMIN))["session_id"]}
        assert (await call_ok(client, "list_projects", session))["total"] == 3
    async with Client(f"{http_server.base}/mcp") as other:
        assert (await call_ok(other, "list_projects", session))["total"] == 3, "sessions outlive connections"
    status, metrics = http_server.get("/metrics")
    assert status == 200
    assert 'taiga_mcp_tool_calls_total{tenant="default",tool="list_projects",outcome="OK"} 2' in metrics
    assert 'taiga_mcp_taiga_requests_total{tenant="default",status="200"}' in metrics
    assert "taiga_mcp_active_sessions 1" in metrics


def test_health_and_readiness(http_server: HttpServer) -> None:
    assert http_server.get("/healthz") == (200, "ok\n")
    assert http_server.get("/readyz") == (200, "ready\n")


def test_dns_rebinding_and_oversized_requests_are_refused(http_server: HttpServer) -> None:
    hello = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    assert http_server.post(hello, {"host": "evil.example"}) == 403
    assert http_server.post(hello, {"origin": "http://evil.example"}) == 403
    assert http_server.post(b"[" + b" " * (5 * 1024 * 1024) + b"]", {}) == 413


def post_tools_list(server: HttpServer) -> tuple[str, str | None, dict]:
    """A tools/list request with no initialize before it: (content type, session header, answer)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}).encode()
    with server.open(body, {"mcp-protocol-version": "2025-06-18"}) as response:
        return response.headers["content-type"], response.headers.get("mcp-session-id"), json.load(response)


def test_sessions_are_required_by_default(http_server: HttpServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        post_tools_list(http_server)
    assert refused.value.code == 400 and "Session ID is required" in refused.value.read().decode()


@pytest.fixture
def stateless_server(simulator: Simulator, cache_dir: Path) -> Iterator[HttpServer]:
    server = HttpServer(simulator, cache_dir, HTTP_STATELESS="true")
    yield server
    server.stop()


def test_stateless_requests_stand_alone_and_get_json_answers(stateless_server: HttpServer) -> None:
    content_type, session, answer = post_tools_list(stateless_server)
    assert content_type.startswith("application/json") and session is None
    assert answer["id"] == 7 and len(answer["result"]["tools"]) == 76


async def test_a_stateless_call_streams_its_progress_then_its_result(stateless_server: HttpServer) -> None:
    async with Client(f"{stateless_server.base}/mcp") as client:
        session = (await call_ok(client, "login", ADMIN))["session_id"]
        project = (await call_ok(client, "list_projects", {"session_id": session}))["items"][0]["id"]
        created = await call_ok(
            client, "bulk_create_user_stories", {"session_id": session, "project_id": project, "titles": ["A", "B"]})
        ids = [story["id"] for story in created["created"]]
        reports: list[tuple[float, float | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            reports.append((progress, total))

        result = await client.call_tool(
            "bulk_update_user_stories",
            {"session_id": session, "user_story_ids": ids, "tags": ["http"]},
            progress_callback=on_progress,
        )
        assert not result.is_error and result.structured_content["done"] == 2
        assert reports == [(1, 2), (2, 2)]
    async with Client(f"{stateless_server.base}/mcp") as other:
        assert (await call_ok(other, "list_projects", {"session_id": session}))["total"] == 3


async def test_login_limits_count_per_client_address(http_server: HttpServer) -> None:
    async with Client(f"{http_server.base}/mcp") as first, Client(f"{http_server.base}/mcp") as second:
        await call_error(first, "login", {"username": "admin", "password": "no"}, "INVALID_CREDENTIALS")
        await call_error(second, "login", {"username": "bob", "password": "no"}, "INVALID_CREDENTIALS")
        await call_error(first, "login", {"username": "nobody", "password": "no"}, "INVALID_CREDENTIALS")
        error = await call_error(second, "login", {"username": "someone", "password": "no"}, "RATE_LIMITED")
        assert error["details"]["retry_after_seconds"] > 0


async def test_sigterm_lets_calls_in_flight_finish(simulator: Simulator, cache_dir: Path) -> None:
    server = HttpServer(simulator, cache_dir)
    async with Client(f"{server.base}/mcp") as client:
        session = {"session_id": (await call_ok(client, "login", ADMIN))["session_id"]}
        simulator.inject({"kind": "latency", "ms": 1500}, path_prefix="/api/v1/projects", times=1)
        call = asyncio.create_task(client.call_tool("list_projects", session))
        await asyncio.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        result = await call
        assert not result.is_error and result.structured_content["total"] == 3
    assert server.stop() == 0


def test_the_operators_endpoints_are_served_apart_when_asked(simulator: Simulator, cache_dir: Path) -> None:
    """`--admin-listen` used to be ignored over HTTP: `/metrics` stayed on the tenants' port."""
    admin = free_port()
    server = HttpServer(simulator, cache_dir, TAIGA_ADMIN_LISTEN=f"127.0.0.1:{admin}")
    try:
        for path in ("/metrics", "/healthz", "/readyz"):
            assert server.get(path)[0] == 404, path
            with urllib.request.urlopen(f"http://127.0.0.1:{admin}{path}", timeout=5) as response:
                assert response.status == 200, path
    finally:
        server.stop()
