"""Choosing tools: toolsets, single tools, excluded tools and the read-only mode, from the
operator's settings and, over HTTP, from request headers that can only narrow them; the byte
budgets of `tools/list`; and its cache hints."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path
from typing import AsyncIterator

import pytest
from mcp import Client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from conftest import TAIGA_MCP, HttpServer, Simulator, body, call_ok, connect, server_env

pytestmark = pytest.mark.anyio

ADMIN = {"username": "admin", "password": "123123"}
SESSION = {"login", "logout", "session_status"}
DEFAULT = SESSION | {
    "list_projects", "get_project_metadata", "list_user_stories", "get_user_story", "create_user_story",
    "update_user_story", "list_tasks", "create_task", "update_task", "list_issues", "get_issue", "create_issue",
    "update_issue", "list_sprints", "add_comment", "list_comments",
}


def listed_bytes(tools) -> int:
    return len(json.dumps({"tools": [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]},
                          separators=(",", ":")))


async def names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


async def test_the_default_set_is_a_planning_day_within_its_byte_budget(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir, TAIGA_TOOLSETS="") as client:
        tools = (await client.list_tools()).tools
    assert {tool.name for tool in tools} == DEFAULT
    assert listed_bytes(tools) <= 20_000, listed_bytes(tools)
    async with connect(simulator, cache_dir, TAIGA_TOOLSETS="all") as client:
        everything = (await client.list_tools()).tools
    # 59 tools held 45,000 bytes (issue 20); the 16 beyond CRUD (issue 21) came in toolsets of their own,
    # the sprint board (issue 31) in `sprints`.
    assert len(everything) == 76
    assert listed_bytes(everything) <= 60_000, listed_bytes(everything)
    for tool in everything:
        for field, schema in tool.input_schema.get("properties", {}).items():
            assert schema.get("description"), f"{tool.name}.{field} is described"


async def test_toolsets_single_and_excluded_tools(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir, TAIGA_TOOLSETS="wiki", TAIGA_TOOLS="list_projects",
                       TAIGA_EXCLUDE_TOOLS="delete_wiki_page") as client:
        assert await names(client) == SESSION | {
            "list_wiki_pages", "get_wiki_page", "create_wiki_page", "update_wiki_page", "list_projects"}


async def test_read_only_mode_lists_and_runs_only_reads(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir, TAIGA_READ_ONLY="true") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert SESSION <= set(tools)
        assert all(tool.annotations and tool.annotations.read_only_hint for name, tool in tools.items()
                   if name not in SESSION)
        assert "create_project" not in tools and "delete_user_story" not in tools
        session = (await call_ok(client, "login", ADMIN))["session_id"]
        simulator.clear_requests()
        result = await client.call_tool("delete_project", {"session_id": session, "project_id": 1})
        refused = body(result)
        assert result.is_error and refused["code"] == "PERMISSION_DENIED"
        assert refused["details"] == {"tool": "delete_project"}
        assert simulator.requests() == [], "refused before any Taiga request"
        assert (await call_ok(client, "get_project", {"session_id": session, "project_id": 1}))["id"] == 1


@pytest.mark.parametrize("setting, value, named", [
    ("TAIGA_TOOLSETS", "default,planning", "no toolset is named `planning`"),
    ("TAIGA_TOOLS", "drop_tables", "no tool is named `drop_tables`"),
    ("TAIGA_EXCLUDE_TOOLS", "login,nope", "no tool is named `nope`"),
])
def test_an_unknown_name_stops_the_server_naming_it(
    simulator: Simulator, cache_dir: Path, setting: str, value: str, named: str
) -> None:
    env = {**os.environ, **server_env(simulator, cache_dir, **{setting: value})}
    done = subprocess.run([str(TAIGA_MCP)], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert f"{setting}: {named}" in done.stderr, done.stderr
    assert done.stdout == ""


@contextlib.asynccontextmanager
async def http_client(server: HttpServer, headers: dict[str, str]) -> AsyncIterator[Client]:
    http = create_mcp_http_client(headers=headers)
    async with http, Client(streamable_http_client(f"{server.base}/mcp", http_client=http)) as client:
        yield client


@pytest.mark.parametrize("stateless", ["false", "true"], ids=["sessions", "stateless"])
async def test_request_headers_narrow_and_never_widen(
    simulator: Simulator, cache_dir: Path, tmp_path: Path, stateless: str
) -> None:
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, TAIGA_TOOLSETS="default", HTTP_STATELESS=stateless)
        try:
            async with http_client(server, {"X-MCP-Toolsets": "issues", "X-MCP-Readonly": "true"}) as client:
                assert await names(client) == SESSION | {"list_issues", "get_issue"}
                session = (await call_ok(client, "login", ADMIN))["session_id"]
                result = await client.call_tool("create_issue", {"session_id": session, "project_id": 1, "title": "x"})
                assert result.is_error and body(result)["code"] == "PERMISSION_DENIED"
            # The operator's default has no wiki: a header cannot add it.
            async with http_client(server, {"X-MCP-Toolsets": "wiki", "X-MCP-Tools": "delete_project"}) as client:
                assert await names(client) == SESSION
                result = await client.call_tool("list_wiki_pages", {"session_id": session, "project_id": 1})
                assert result.is_error and body(result)["code"] == "PERMISSION_DENIED"
            async with http_client(server, {}) as client:
                assert await names(client) == DEFAULT
            with pytest.raises(Exception) as refused:
                async with http_client(server, {"X-MCP-Toolsets": "planning"}) as client:
                    await client.list_tools()
            assert "X-MCP-Toolsets: no toolset is named `planning`" in str(refused.value) + repr(refused.value)
        finally:
            server.stop()


async def test_the_list_says_it_can_be_kept(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog)
        try:
            async with http_client(server, {}) as client:
                assert client.protocol_version == "2026-07-28"
                listed = await client.session.list_tools()
                assert listed.ttl_ms == 24 * 3600 * 1000 and listed.cache_scope == "private"
        finally:
            server.stop()
