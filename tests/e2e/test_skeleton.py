"""The walking skeleton end to end: a real MCP client, the real `taiga-mcp` binary, the simulator."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from mcp import MCPError

from conftest import TAIGA_MCP, Simulator, call_error, call_ok, connect

pytestmark = pytest.mark.anyio

FIRST_TOOLS = {"login", "logout", "session_status", "list_projects", "get_project"}
ADMIN = {"username": "admin", "password": "123123"}


async def test_tools_list_describes_every_tool(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert FIRST_TOOLS <= set(tools)
    for tool in tools.values():
        # A title only where it says more than the name ("List issues" for list_issues is left out).
        assert tool.description and tool.title != tool.name.replace("_", " ").capitalize()
        assert tool.input_schema["type"] == "object"
        for name, field in tool.input_schema["properties"].items():
            assert field.get("description"), f"{tool.name}.{name} has no description"
        # An output schema, or the name of the tool whose schema the result shares (written once).
        shared = re.search(r"Result: as `(\w+)`\.$", tool.description)
        if shared:
            assert tool.output_schema is None and tools[shared[1]].output_schema["type"] == "object"
        else:
            assert tool.output_schema and tool.output_schema["type"] == "object"
    assert tools["get_project_metadata"].title == "Get a project's statuses, types and members"
    assert tools["list_projects"].annotations.read_only_hint is True
    assert not tools["login"].annotations.read_only_hint
    assert tools["get_project"].input_schema["properties"]["project_id"]["minimum"] == 1


async def test_calls_share_kept_alive_connections_to_taiga(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        session_id = (await call_ok(client, "login", ADMIN))["session_id"]
        simulator.clear_requests()
        for _ in range(5):
            await call_ok(client, "get_project", {"session_id": session_id, "project_id": 1})
    requests = simulator.requests()
    assert [r["path"] for r in requests] == ["/api/v1/projects/1"] * 5
    # Five calls in a row, each in a fresh sandbox, reach Taiga over one connection.
    assert len({r["peer"] for r in requests}) == 1, requests


async def test_login_list_get_logout(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        login = await call_ok(client, "login", ADMIN)
        session_id = login["session_id"]
        assert login["username"] == "admin"
        assert len(session_id) == 36 and session_id[14] == "4"
        assert "auth_token" not in login and "refresh" not in login

        first = await call_ok(client, "list_projects", {"session_id": session_id, "page_size": 2})
        assert first["total"] == 3 and first["has_next"] is True and len(first["items"]) == 2
        second = await call_ok(client, "list_projects", {"session_id": session_id, "page_size": 2, "page": 2})
        assert second["has_next"] is False and len(second["items"]) == 1
        names = [item["name"] for item in first["items"] + second["items"]]
        assert names == ["Demo Kanban", "Demo Scrum", "Public Sample"]

        project_id = first["items"][1]["id"]
        project = await call_ok(client, "get_project", {"session_id": session_id, "project_id": project_id})
        assert project["name"] == "Demo Scrum"
        assert project["members"][0]["username"] == "admin"
        assert project["members"][0]["role"] == "Product Owner"

        status = await call_ok(client, "session_status", {"session_id": session_id})
        assert status["active"] is True and status["username"] == "admin"
        assert status["expires_at"] == login["expires_at"]

        assert (await call_ok(client, "logout", {"session_id": session_id}))["logged_out"] is True
        await call_error(client, "list_projects", {"session_id": session_id}, "SESSION_INVALID")

    tokens = [r["headers"] for r in simulator.requests() if r["path"] == "/api/v1/projects"]
    assert tokens and all(dict(h)["authorization"].startswith("Bearer ") for h in tokens)


async def test_hosts_off_the_allow_list_are_never_contacted(simulator: Simulator, cache_dir: Path) -> None:
    port = simulator.url.rsplit(":", 1)[1]
    async with connect(simulator, cache_dir) as client:
        simulator.clear_requests()
        for host in ["https://evil.example", f"http://localhost:{port}", f"http://127.0.0.1:{int(port) + 1}"]:
            error = await call_error(client, "login", {**ADMIN, "host": host}, "HOST_NOT_ALLOWED")
            assert "allow" in error["message"]
        await call_error(client, "login", {**ADMIN, "host": f"http://admin@127.0.0.1:{port}"}, "INVALID_INPUT")
    assert simulator.requests() == []


async def test_wrong_password_is_invalid_credentials(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        error = await call_error(client, "login", {"username": "admin", "password": "wrong"}, "INVALID_CREDENTIALS")
    assert "wrong" not in str(error)


async def test_validation_names_the_field(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        session_id = (await call_ok(client, "login", ADMIN))["session_id"]
        for bad in [0, -1, 1.5, "7", 2**63]:
            error = await call_error(client, "get_project", {"session_id": session_id, "project_id": bad}, "INVALID_INPUT")
            assert error["details"]["field"] == "project_id"
        error = await call_error(client, "get_project", {"session_id": session_id, "project_id": 1, "extra": 1}, "INVALID_INPUT")
        assert error["details"]["field"] == "extra"
        error = await call_error(client, "list_projects", {"session_id": session_id, "page_size": 101}, "INVALID_INPUT")
        assert error["details"]["field"] == "page_size"
        error = await call_error(client, "list_projects", {"session_id": "not-a-session"}, "INVALID_INPUT")
        assert error["details"]["field"] == "session_id"


async def test_taiga_errors_map_to_codes(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        session_id = (await call_ok(client, "login", ADMIN))["session_id"]
        error = await call_error(client, "get_project", {"session_id": session_id, "project_id": 999}, "NOT_FOUND")
        assert "project 999" in error["message"]
        bob = (await call_ok(client, "login", {"username": "bob", "password": "123123"}))["session_id"]
        await call_error(client, "get_project", {"session_id": bob, "project_id": 1}, "PERMISSION_DENIED")
        error = await call_error(client, "list_projects", {"session_id": session_id, "page": 5}, "INVALID_INPUT")
        assert error["details"]["field"] == "page"


async def test_unknown_tools_are_protocol_errors(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("no_such_tool", {})
    assert raised.value.error.code == -32602


def test_bad_configuration_stops_the_server_naming_the_variable() -> None:
    cases = [
        ({"TAIGA_API_URL": "http://taiga.internal"}, "TAIGA_API_URL"),
        ({"TAIGA_API_URL": "ftp://taiga.internal"}, "TAIGA_API_URL"),
        ({"TAIGA_ALLOWED_HOSTS": "https://user@evil.example"}, "TAIGA_ALLOWED_HOSTS"),
        ({"REQUEST_TIMEOUT": "soon"}, "REQUEST_TIMEOUT"),
        ({"ALLOW_HTTP_TAIGA": "maybe"}, "ALLOW_HTTP_TAIGA"),
    ]
    for env, variable in cases:
        done = subprocess.run([str(TAIGA_MCP)], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert done.returncode != 0, env
        assert variable in done.stderr, (env, done.stderr)
        assert done.stdout == "", "nothing but protocol messages on stdout"
