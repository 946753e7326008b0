"""Resources, prompts, completions and skills (issue 30), driven by the official Python SDK client
against the simulator: as the user who called `login` on the connection (stdio and Streamable HTTP)
and as the deployment's own identity."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from conftest import HttpServer, Simulator, connect, login, taiga

pytestmark = pytest.mark.anyio

PROJECT = "admin-demo-scrum"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff\x00binary"
PROMPTS = {
    "standup": {"project": PROJECT, "since": "2000-01-01", "person": "admin"},
    "sprint_review": {"project": PROJECT, "sprint": "Sprint 7"},
    "triage_issues": {"project": PROJECT},
    "plan_sprint": {"project": PROJECT},
}
SKILLS = ["taiga-standup", "taiga-sprint-review", "taiga-triage-issues", "taiga-plan-sprint"]


async def seed(client: Client, simulator: Simulator) -> dict[str, Any]:
    """A sprint with a story (commented, with a binary attachment and a custom field), a backlog
    story, an issue and a wiki page in the demo project, written through the tools."""
    s = await login(client)
    project = (await s("get_project", slug=PROJECT))["id"]
    taiga(simulator, "POST", "/userstory-custom-attributes", {"project": project, "name": "Customer", "type": "text"})
    sprint = await s("create_sprint", project_id=project, name="Sprint 7", start_date="2026-12-01", end_date="2026-12-14")
    story = await s("create_user_story", project_id=project, title="Checkout with saved cards",
                    description="Pay with a card kept on file.", status="In progress", sprint_id=sprint["id"],
                    assigned_to="admin")
    await s("add_comment", resource="user_story", id=story["id"], text="Waiting for the PSP sandbox")
    await s("add_comment", resource="user_story", id=story["id"], text="Sandbox is up")
    custom = await s("get_custom_values", resource="user_story", id=story["id"])
    await s("set_custom_values", resource="user_story", id=story["id"], version=custom["version"],
            values={"Customer": "ACME"})
    attachment = await s("upload_attachment", resource="user_story", id=story["id"], file_name="flow.png",
                         base64=base64.b64encode(PNG).decode())
    backlog = await s("create_user_story", project_id=project, title="Export invoices as PDF")
    issue = await s("create_issue", project_id=project, title="Crash on empty cart", priority="High",
                    severity="Critical", type="Bug")
    await s("create_wiki_page", project_id=project, slug="release-notes", content="# Release notes\n\nv2 ships cards.")
    return {"story": story, "attachment": attachment, "backlog": backlog, "issue": issue}


async def text_of(client: Client, uri: str) -> str:
    read = await client.read_resource(uri)
    assert len(read.contents) == 1 and read.contents[0].uri == uri
    assert read.contents[0].mime_type == "text/markdown"
    return read.contents[0].text


async def exercise(client: Client, seeded: dict[str, Any]) -> None:
    """Everything the issue's end-to-end test names, against what `seed` wrote."""
    story, issue = seeded["story"], seeded["issue"]
    listed = [resource.uri for resource in (await client.list_resources()).resources]
    assert f"taiga://projects/{PROJECT}" in listed
    assert f"taiga://projects/{PROJECT}/wiki/release-notes" in listed
    assert [f"skill://{name}/SKILL.md" for name in SKILLS] == listed[:4]
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert f"taiga://projects/{{project}}/userstories/{{ref}}" in templates

    wiki = await text_of(client, f"taiga://projects/{PROJECT}/wiki/release-notes")
    assert "# Release notes\n\nv2 ships cards." in wiki
    page = await text_of(client, f"taiga://projects/{PROJECT}/userstories/{story['ref']}")
    assert page.startswith(f"# #{story['ref']} Checkout with saved cards\n")
    for expected in ["**Status**: In progress", "**Assigned to**: admin", "**Sprint**: Sprint 7",
                     "Pay with a card kept on file.", "**Customer**: ACME",
                     "## Latest comments (2 of 2, newest first)"]:
        assert expected in page, (expected, page)
    assert page.index("Sandbox is up") < page.index("Waiting for the PSP sandbox"), page
    issue_page = await text_of(client, f"taiga://projects/{PROJECT}/issues/{issue['ref']}")
    for expected in ["**Type**: Bug", "**Priority**: High", "**Severity**: Critical"]:
        assert expected in issue_page, (expected, issue_page)
    sprint = await text_of(client, f"taiga://projects/{PROJECT}/sprints/Sprint%207")
    assert "### In progress" in sprint and f"#{story['ref']} Checkout with saved cards" in sprint

    uri = f"taiga://projects/{PROJECT}/userstories/{story['ref']}/attachments/{seeded['attachment']['id']}"
    blob = (await client.read_resource(uri)).contents[0]
    assert blob.mime_type == "image/png" and base64.b64decode(blob.blob) == PNG
    # The attachment is the story's: the same id under another item names nothing.
    with pytest.raises(MCPError) as other_item:
        await client.read_resource(uri.replace(f"/userstories/{story['ref']}/", f"/userstories/{seeded['backlog']['ref']}/"))
    assert other_item.value.error.code == -32602

    for missing in ["taiga://projects/no-such-project", f"taiga://projects/{PROJECT}/userstories/9999", "test://nothing"]:
        with pytest.raises(MCPError) as error:
            await client.read_resource(missing)
        assert error.value.error.code == -32602 and error.value.error.data["uri"] == missing

    projects = await client.complete(ResourceTemplateReference(uri="taiga://projects/{project}"),
                                     {"name": "project", "value": "admin-demo-s"})
    assert projects.completion.values == [PROJECT]
    by_name = await client.complete(PromptReference(name="standup"), {"name": "project", "value": "Demo Scr"})
    assert by_name.completion.values == [PROJECT]
    refs = await client.complete(ResourceTemplateReference(uri="taiga://projects/{project}/userstories/{ref}"),
                                 {"name": "ref", "value": "saved cards"}, {"project": PROJECT})
    assert refs.completion.values == [str(story["ref"])]
    sprints = await client.complete(PromptReference(name="sprint_review"), {"name": "sprint", "value": "spr"},
                                    {"project": PROJECT})
    assert sprints.completion.values == ["Sprint 7"]
    people = await client.complete(PromptReference(name="standup"), {"name": "person", "value": "adm"},
                                   {"project": PROJECT})
    assert people.completion.values == ["admin"]
    statuses = await client.complete(PromptReference(name="triage_issues"), {"name": "status", "value": "ne"},
                                     {"project": PROJECT})
    assert statuses.completion.values[:2] == ["New", "Needs Info"], statuses.completion.values
    # Nothing to offer before the project is known: an empty list, not an error.
    early = await client.complete(PromptReference(name="standup"), {"name": "person", "value": ""})
    assert early.completion.values == []

    assert [p.name for p in (await client.list_prompts()).prompts] == list(PROMPTS)
    for name, arguments in PROMPTS.items():
        prompt = await client.get_prompt(name, arguments)
        embedded = [m.content.resource for m in prompt.messages if m.content.type == "resource"]
        assert embedded and all(resource.uri.startswith(f"taiga://projects/{PROJECT}") for resource in embedded), name
        everything = json.dumps(prompt.model_dump(mode="json"))
        real = {"standup": "Checkout with saved cards", "sprint_review": "Checkout with saved cards",
                "triage_issues": "Crash on empty cart", "plan_sprint": "Export invoices as PDF"}[name]
        assert real in everything, (name, everything[:2000])

    for arguments, argument in [({"project": "no-such-project", "sprint": "Sprint 7"}, "project"),
                                ({"project": PROJECT, "sprint": "Sprint 99"}, "sprint")]:
        with pytest.raises(MCPError) as error:
            await client.get_prompt("sprint_review", arguments)
        assert error.value.error.code == -32602 and error.value.error.data["argument"] == argument, error.value.error

    for name in SKILLS:
        skill = await text_of(client, f"skill://{name}/SKILL.md")
        assert skill.startswith(f"---\nname: {name}\ndescription: ")


async def test_a_user_who_signed_in_over_stdio_lists_reads_completes_and_prompts(
        simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        with pytest.raises(MCPError) as signed_out:
            await client.list_resources()
        assert signed_out.value.error.code == -32001 and "login" in signed_out.value.error.message
        # What needs no Taiga answers before anyone signs in.
        assert len((await client.list_prompts()).prompts) == 4
        seeded = await seed(client, simulator)
        await exercise(client, seeded)


async def test_the_deployment_s_identity_serves_every_primitive(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as writer:
        seeded = await seed(writer, simulator)
    async with connect(simulator, cache_dir, TAIGA_USERNAME="admin", TAIGA_PASSWORD="123123") as client:
        await exercise(client, seeded)


@contextlib.asynccontextmanager
async def http_client(server: HttpServer, mode: str) -> AsyncIterator[Client]:
    async with Client(streamable_http_client(f"{server.base}/mcp"), mode=mode) as client:
        yield client


async def test_over_http_a_sign_in_serves_only_its_own_mcp_session(simulator: Simulator, cache_dir: Path) -> None:
    server = HttpServer(simulator, cache_dir)
    try:
        # 2025-11-25: an MCP session, which `login` signs in.
        async with http_client(server, "legacy") as client, http_client(server, "legacy") as stranger:
            assert client.protocol_version == "2025-11-25"
            seeded = await seed(client, simulator)
            await exercise(client, seeded)
            # Another MCP session of the same deployment is not signed in by the first one's login.
            with pytest.raises(MCPError) as error:
                await stranger.read_resource(f"taiga://projects/{PROJECT}/userstories/{seeded['story']['ref']}")
            assert error.value.error.code == -32001
        # 2026-07-28 is stateless: no session to sign in, so a login signs in no later request.
        async with http_client(server, "auto") as stateless:
            assert stateless.protocol_version == "2026-07-28"
            await login(stateless)
            with pytest.raises(MCPError) as error:
                await stateless.list_resources()
            assert error.value.error.code == -32001 and "MCP session" in error.value.error.message
        status, metrics = server.get("/metrics")
        assert status == 200
        assert 'taiga_mcp_requests_total{tenant="default",method="resources/read",outcome="OK"}' in metrics
        assert 'taiga_mcp_requests_total{tenant="default",method="resources/list",outcome="-32001"} 1' in metrics
    finally:
        server.stop()


async def test_over_stateless_http_the_deployment_s_identity_serves_every_primitive(
        simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as writer:
        seeded = await seed(writer, simulator)
    server = HttpServer(simulator, cache_dir, TAIGA_USERNAME="admin", TAIGA_PASSWORD="123123")
    try:
        async with http_client(server, "auto") as client:
            assert client.protocol_version == "2026-07-28"
            await exercise(client, seeded)
    finally:
        server.stop()


async def test_an_item_s_extras_and_the_projects_wikis_are_read_together(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        story = (await seed(client, simulator))["story"]
        # Three answers held 300 ms: reads sent one after the other never overlap.
        simulator.inject({"kind": "latency", "ms": 300}, path_prefix="/api/v1/", times=5)
        simulator.clear_requests()
        await text_of(client, f"taiga://projects/{PROJECT}/userstories/{story['ref']}")
        sent = [(r["method"], r["path"].removeprefix("/api/v1"), r["concurrent"]) for r in simulator.requests()]
        assert [(m, p) for m, p, _ in sent[:2]] == [("GET", "/projects/by_slug"), ("GET", "/userstories/by_ref")]
        assert sorted(p for _, p, _ in sent[2:]) == [
            f"/history/userstory/{story['id']}", f"/userstories/custom-attributes-values/{story['id']}",
            "/userstory-custom-attributes"], sent
        assert all(concurrent == 0 for _, _, concurrent in sent[:2]), sent
        assert any(concurrent > 0 for _, _, concurrent in sent[2:]), f"the three reads go out together: {sent}"

        # The projects' wiki lists of one page of resources/list go out together too.
        simulator.inject({"kind": "latency", "ms": 300}, path_prefix="/api/v1/wiki", times=3)
        simulator.clear_requests()
        await client.list_resources()
        sent = [(r["path"].removeprefix("/api/v1"), r["concurrent"]) for r in simulator.requests()]
        assert [path for path, _ in sent] == ["/projects", "/wiki", "/wiki", "/wiki"], sent
        assert any(concurrent > 0 for _, concurrent in sent[1:]), f"the wiki lists go out together: {sent}"


async def test_a_logout_ends_what_the_connection_may_read(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        assert await text_of(client, f"taiga://projects/{PROJECT}")
        await s("logout")
        # (Not resources/list: the client keeps that result for its ttlMs.)
        with pytest.raises(MCPError) as error:
            await client.read_resource(f"taiga://projects/{PROJECT}")
        assert error.value.error.code == -32001


async def test_primitives_turned_off_are_neither_declared_nor_served(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir, TAIGA_PRIMITIVES="prompts") as client:
        capabilities = client.server_capabilities
        assert capabilities.prompts is not None and capabilities.completions is not None
        assert capabilities.resources is None
        with pytest.raises(MCPError) as error:
            await client.read_resource("skill://taiga-standup/SKILL.md")
        assert error.value.error.code == -32601 and "TAIGA_PRIMITIVES" in error.value.error.message
        assert len((await client.list_prompts()).prompts) == 4
