"""What `taiga-mcp` puts on the wire to Taiga, compared with what a plain client (curl, Python
requests) sent in the recordings of a real Taiga 6.10 (`tests/taiga-api`).

The simulator reads request bodies as Django does, by `Content-Length` only: a body sent chunked
arrives empty, so a login answers "invalid login type" and a write names every field as missing
(recordings 178-180). These tests check each request's framing too, so that a regression is named.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from conftest import Simulator, call_error, call_ok, connect
from test_tools import login, new_project

pytestmark = pytest.mark.anyio


def header(request: dict[str, Any], name: str) -> list[str]:
    return [value for key, value in request["headers"] if key.lower() == name]


def assert_framed_as_taiga_reads(requests: list[dict[str, Any]]) -> None:
    """Every body with its exact length and never chunked; a request without a body has neither."""
    assert requests
    for request in requests:
        what = f"{request['method']} {request['path']}"
        assert header(request, "transfer-encoding") == [], f"{what} went out chunked"
        body = request["body"].encode()
        if request["method"] in ("GET", "DELETE"):
            assert body == b"" and header(request, "content-length") == [], what
        else:
            assert body, f"{what} reached Taiga with an empty body"
            assert header(request, "content-length") == [str(len(body))], what
        assert header(request, "user-agent") and header(request, "user-agent")[0].startswith("taiga-mcp/"), what
        assert header(request, "accept") == ["application/json"], what


async def test_login_create_update_and_bulk_send_bodies_with_their_length(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s, name="Wire")
        story = await s("create_user_story", project_id=project, title="Größe ✓", tags=["wire"])
        updated = await s("update_user_story", user_story_id=story["id"], version=story["version"], title="Größer")
        assert updated["title"] == "Größer"
        created = await s("bulk_create_user_stories", project_id=project, titles=["One", "Two"])
        assert len(created["created"]) == 2
        bulk = await s("bulk_update_user_stories", user_story_ids=[story["id"]], tags=["bulk"])
        assert bulk["done"] == 1
        await s("delete_user_story", user_story_id=story["id"], version=(await s("get_user_story", user_story_id=story["id"]))["version"])
    requests = simulator.requests()
    methods = {request["method"] for request in requests}
    assert {"GET", "POST", "PATCH", "DELETE"} <= methods, methods
    assert_framed_as_taiga_reads(requests)
    login_request = next(r for r in requests if r["path"] == "/api/v1/auth")
    assert '"type":"normal"' in login_request["body"]


async def test_queries_encode_non_ascii_and_reserved_characters_as_taiga_decodes_them(
    simulator: Simulator, cache_dir: Path
) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s, name="Query")
        await s("create_user_story", project_id=project, title="Tagged", tags=["größe"])
        simulator.clear_requests()
        found = await s("list_user_stories", project_id=project, tags=["größe", "a&b=c"], q="café #1 + 50% ?")
        assert isinstance(found["items"], list)
    (request,) = [r for r in simulator.requests() if r["path"] == "/api/v1/userstories"]
    query = request["query"]
    # Plain ASCII on the wire: UTF-8 percent-encoded, reserved characters inside values escaped.
    assert re.fullmatch(r"[A-Za-z0-9\-._~%&=]*", query), query
    decoded = parse_qs(query, keep_blank_values=True)
    assert decoded["tags"] == ["größe,a&b=c"]
    assert decoded["q"] == ["café #1 + 50% ?"]
    assert decoded["project"] == [str(project)]
    # No trailing slash: Taiga answers a trailing slash with an HTML 404 (recording 141).
    assert not request["path"].endswith("/")


async def test_taiga_served_under_a_path(cache_dir: Path) -> None:
    """Taiga's `TAIGA_SUBPATH` puts its API at `/taiga/api/v1`: the bridge is configured with
    that URL, sends every request below it, and the allow-list holds it to that path."""
    sim = Simulator("demo", "--base-path", "/taiga")
    try:
        assert sim.url.endswith("/taiga")
        async with connect(sim, cache_dir) as client:
            s = await login(client)
            projects = await s("list_projects")
            assert projects["total"] == 3
            await s("create_user_story", project_id=projects["items"][0]["id"], title="Under a path")
            origin = sim.control_url
            # The same server outside the base path is not on the allow-list.
            for host in [origin, f"{origin}/other", f"{origin}/taiga2"]:
                await call_error(client, "login", {"username": "admin", "password": "123123", "host": host}, "HOST_NOT_ALLOWED")
            # The configured URL with /api/v1 written out is the same server.
            await call_ok(client, "login", {"username": "admin", "password": "123123", "host": f"{sim.url}/api/v1"})
        requests = sim.requests()
        assert requests and all(r["path"].startswith("/taiga/api/v1/") for r in requests), [r["path"] for r in requests]
        assert_framed_as_taiga_reads(requests)
    finally:
        sim.stop()
