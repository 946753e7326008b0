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
