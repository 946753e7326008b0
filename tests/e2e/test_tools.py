"""Every tool of the public surface, end to end through a real MCP client, the real host and the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp.types import ToolAnnotations

from conftest import Session, Simulator, connect, login

pytestmark = pytest.mark.anyio

EXPECTED_TOOLS = {
    "login", "logout", "session_status",
    "list_projects", "get_project", "get_project_metadata", "create_project", "update_project", "delete_project",
    "list_project_members", "invite_project_user", "remove_project_member",
    "list_epics", "get_epic", "create_epic", "update_epic", "delete_epic", "assign_epic", "unassign_epic",
    "link_user_story_to_epic", "unlink_user_story_from_epic", "list_epic_user_stories",
    "list_user_stories", "get_user_story", "create_user_story", "update_user_story", "delete_user_story",
    "assign_user_story", "unassign_user_story", "bulk_create_user_stories", "move_user_stories_to_sprint",
    "bulk_update_user_stories",
    "list_tasks", "get_task", "create_task", "update_task", "delete_task", "assign_task", "unassign_task",
    "list_issues", "get_issue", "create_issue", "update_issue", "delete_issue", "assign_issue", "unassign_issue",
    "list_sprints", "get_sprint", "create_sprint", "update_sprint", "delete_sprint", "close_sprint", "get_sprint_board",
    "list_wiki_pages", "get_wiki_page", "create_wiki_page", "update_wiki_page", "delete_wiki_page",
    "add_comment", "list_comments",
    "list_attachments", "upload_attachment", "update_attachment", "delete_attachment", "get_attachment",
    "list_custom_attributes", "get_custom_values", "set_custom_values",
    "promote_issue_to_user_story", "watch_item", "unwatch_item",
    "search_project", "get_sprint_stats", "get_project_stats", "get_item_history", "get_project_timeline",
}


async def new_project(s: Session, name: str = "E2E", **extra: Any) -> int:
    return (await s("create_project", name=name, description="made by a test", **extra))["id"]


async def test_the_catalogue_is_complete_and_annotated(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == EXPECTED_TOOLS
    for name, tool in tools.items():
        # Hints the server leaves out have the specification's defaults.
        hints = tool.annotations or ToolAnnotations()
        read_only = bool(hints.read_only_hint)
        destructive = not read_only and hints.destructive_hint is not False
        idempotent = bool(hints.idempotent_hint)
        if name.startswith(("list_", "get_")) or name == "session_status":
            assert read_only, name
        if name.startswith(("delete_", "remove_")):
            assert destructive and not read_only, name
        if name.startswith("update_"):
            assert idempotent, name
        properties = tool.input_schema["properties"]
        if name != "login":
            assert list(properties)[0] == "session_id", name
        for field, schema in properties.items():
            assert schema.get("description"), f"{name}.{field}"
    for versioned in ["update_user_story", "delete_task", "update_issue", "delete_epic", "update_wiki_page"]:
        assert "version" in tools[versioned].input_schema["required"], versioned
    for unversioned in ["update_project", "delete_project", "update_sprint", "delete_sprint"]:
        assert "version" not in tools[unversioned].input_schema["properties"], unversioned
        assert "no version" in tools[unversioned].description, unversioned
    assert tools["create_user_story"].input_schema["properties"]["title"]["maxLength"] == 500
    assert tools["create_user_story"].input_schema["properties"]["description"]["maxLength"] == 5000


async def test_projects_and_members(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        created = await s("create_project", name="Kanban Board", description="k", template="kanban", visibility="public")
        assert created["modules"]["kanban"] is True and created["is_private"] is False
        by_slug = await s("get_project", slug=created["slug"])
        assert by_slug["id"] == created["id"]
        await s.error("get_project", "INVALID_INPUT")
        meta = await s("get_project_metadata", project_id=created["id"])
        assert [status["name"] for status in meta["user_story_statuses"]][:2] == ["New", "Ready"]
        assert {"Low", "Normal", "High"} == {p["name"] for p in meta["priorities"]}
        assert meta["members"][0]["username"] == "admin"
        updated = await s("update_project", project_id=created["id"], name="Renamed", visibility="private")
        assert updated["name"] == "Renamed" and updated["is_private"] is True

        member = await s("invite_project_user", project_id=created["id"], username="bob", role="back")
        assert member["username"] == "bob" and member["role"] == "Back" and member["pending"] is False
        invited = await s("invite_project_user", project_id=created["id"], email="new.person@example.com", role="Stakeholder")
        assert invited["pending"] is True and invited["email"] == "new.person@example.com"
        error = await s.error("invite_project_user", "INVALID_INPUT", project_id=created["id"], email="not an email", role="Back")
        assert error["details"]["field"] == "email"
        error = await s.error("invite_project_user", "INVALID_INPUT", project_id=created["id"], username="bob", role="Wizard")
        assert "Product Owner" in error["details"]["valid"]
        members = (await s("list_project_members", project_id=created["id"]))["members"]
        assert {m["username"] for m in members if not m["pending"]} == {"admin", "bob"}
        bob_id = next(m["user_id"] for m in members if m["username"] == "bob")
        await s("remove_project_member", project_id=created["id"], user_id=bob_id)
        admin_id = next(m["user_id"] for m in members if m["username"] == "admin")
        error = await s.error("remove_project_member", "INVALID_INPUT", project_id=created["id"], user_id=admin_id)
        assert "admin" in error["message"]

        bob = await login(client, "bob")
        await bob.error("get_project", "PERMISSION_DENIED", project_id=created["id"])
        await bob.error("delete_project", "PERMISSION_DENIED", project_id=created["id"])
        assert (await s("delete_project", project_id=created["id"]))["deleted"] is True
        await s.error("get_project", "NOT_FOUND", project_id=created["id"])


async def test_user_story_lifecycle_with_versions_and_names(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        story = await s(
            "create_user_story", project_id=project, title="First story", description="As a user...",
            status="in progress", points="3", tags=["Backend", "api"], assigned_to="admin",
        )
        assert story["status"] == "In progress" and story["version"] == 1
        assert story["total_points"] == 12 and story["tags"] == ["backend", "api"]
        assert story["assigned_to"] == "admin"
        by_ref = await s("get_user_story", project_id=project, ref=story["ref"])
        assert by_ref["id"] == story["id"] and by_ref["description"] == "As a user..."
        error = await s.error("create_user_story", "INVALID_INPUT", project_id=project, title="x", status="Bogus")
        assert error["details"]["field"] == "status" and "Ready for test" in error["details"]["valid"]
        await s.error("create_user_story", "INVALID_INPUT", project_id=project, title="")
        await s.error("create_user_story", "INVALID_INPUT", project_id=project, title="x" * 501)
        await s.error("create_user_story", "INVALID_INPUT", project_id=project, title="x", description="d" * 5001)
        await s.error("create_user_story", "INVALID_INPUT", project_id=project, title="x", assigned_to="bob")

        listed = await s("list_user_stories", project_id=project, status="In Progress")
        assert [item["id"] for item in listed["items"]] == [story["id"]]
        assert (await s("list_user_stories", project_id=project, status="New"))["items"] == []
        assert len((await s("list_user_stories", project_id=project, tags=["api"], q="first"))["items"]) == 1

        v2 = await s("update_user_story", user_story_id=story["id"], version=1, title="Edited")
        assert v2["version"] == 2 and v2["title"] == "Edited"
        conflict = await s.error("update_user_story", "VERSION_CONFLICT", user_story_id=story["id"], version=1, title="Clash")
        assert conflict["details"]["current_version"] == 2 and conflict["details"]["changed_fields"] == ["title"]
        merged = await s("update_user_story", user_story_id=story["id"], version=1, description="Other field")
        assert merged["version"] == 3
        await s.error("update_user_story", "INVALID_INPUT", user_story_id=story["id"], version=3)
        await s.error("update_user_story", "INVALID_INPUT", user_story_id=story["id"], title="no version")

        await s("invite_project_user", project_id=project, username="bob", role="Front")
        assigned = await s("assign_user_story", user_story_id=story["id"], user="bob")
        assert assigned["assigned_to"] == "bob"
        unassigned = await s("unassign_user_story", user_story_id=story["id"])
        assert unassigned["assigned_to"] is None and unassigned["assigned_users"] == []

        current = (await s("get_user_story", user_story_id=story["id"]))["version"]
        stale = await s.error("delete_user_story", "VERSION_CONFLICT", user_story_id=story["id"], version=current - 1)
        assert stale["details"]["current_version"] == current
        await s("get_user_story", user_story_id=story["id"])
        assert (await s("delete_user_story", user_story_id=story["id"], version=current))["deleted"] is True
        error = await s.error("get_user_story", "NOT_FOUND", user_story_id=story["id"])
        assert f"user story {story['id']}" in error["message"]
        await s.error("update_user_story", "NOT_FOUND", user_story_id=story["id"], version=1, title="gone")


async def test_pagination_bulk_and_sprints(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        created = (await s("bulk_create_user_stories", project_id=project, titles=[f"Story {n}" for n in range(35)]))["created"]
        assert len(created) == 35
        page1 = await s("list_user_stories", project_id=project)
        assert len(page1["items"]) == 30 and page1["total"] == 35 and page1["has_next"] is True
        page2 = await s("list_user_stories", project_id=project, page=2)
        assert len(page2["items"]) == 5 and page2["has_next"] is False
        everything = await s("list_user_stories", project_id=project, all=True)
        assert len(everything["items"]) == 35 and everything["has_next"] is False
        await s.error("list_user_stories", "INVALID_INPUT", project_id=project, page=3)

        await s.error("create_sprint", "INVALID_INPUT", project_id=project, name="Bad", start_date="2026-02-30", end_date="2026-03-01")
        await s.error("create_sprint", "INVALID_INPUT", project_id=project, name="Bad", start_date="2026-03-10", end_date="2026-03-01")
        sprint = await s("create_sprint", project_id=project, name="Sprint 1", start_date="2026-01-05", end_date="2026-01-19")
        dup = await s.error("create_sprint", "INVALID_INPUT", project_id=project, name="Sprint 1", start_date="2026-02-01", end_date="2026-02-10")
        assert dup["details"]["field"] == "name"
        ids = [story["id"] for story in created[:3]]
        moved = await s("move_user_stories_to_sprint", project_id=project, user_story_ids=ids, sprint_id=sprint["id"])
        assert moved["moved"] == ids
        in_sprint = await s("list_user_stories", project_id=project, sprint_id=sprint["id"])
        assert sorted(item["id"] for item in in_sprint["items"]) == sorted(ids)
        assert all(item["sprint"] == "Sprint 1" for item in in_sprint["items"])
        backlog = await s("list_user_stories", project_id=project, backlog=True, all=True)
        assert len(backlog["items"]) == 32
        sprints = await s("list_sprints", project_id=project)
        assert sprints["items"][0]["user_story_count"] == 3
        await s("move_user_stories_to_sprint", project_id=project, user_story_ids=ids[:1], sprint_id=None)
        assert (await s("get_sprint", sprint_id=sprint["id"]))["user_story_count"] == 2
        renamed = await s("update_sprint", sprint_id=sprint["id"], name="Sprint One")
        assert renamed["name"] == "Sprint One"
        assert (await s("close_sprint", sprint_id=sprint["id"]))["closed"] is True
        assert (await s("list_sprints", project_id=project, closed=False))["items"] == []
        await s("delete_sprint", sprint_id=sprint["id"])
        assert len((await s("list_user_stories", project_id=project, backlog=True, all=True))["items"]) == 35

        reports: list[tuple[float, float | None, str | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            reports.append((progress, total, message))

        raw = await client.call_tool(
            "bulk_update_user_stories",
            {"session_id": s.session_id, "user_story_ids": ids + [999999], "status": "Done", "tags": ["bulk"]},
            progress_callback=on_progress,
        )
        assert not raw.is_error
        result = raw.structured_content
        assert result["done"] == 3 and result["failed"] == 1
        assert [(done, total) for done, total, _ in reports] == [(1, 4), (2, 4), (3, 4), (4, 4)]
        assert [r["result"] for r in result["results"]] == ["done", "done", "done", "failed"]
        assert (await s("get_user_story", user_story_id=ids[0]))["status"] == "Done"


async def test_tasks_issues_epics(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        story = await s("create_user_story", project_id=project, title="Parent")
        task = await s("create_task", user_story_id=story["id"], title="Implement", status="In progress")
        assert task["project_id"] == project and task["user_story"]["id"] == story["id"]
        assert [t["id"] for t in (await s("list_tasks", project_id=project, user_story_id=story["id"]))["items"]] == [task["id"]]
        task = await s("update_task", task_id=task["id"], version=task["version"], status="Closed")
        assert task["is_closed"] is True
        await s("assign_task", task_id=task["id"], user="admin")
        assert (await s("unassign_task", task_id=task["id"]))["assigned_to"] is None
        task = await s("get_task", task_id=task["id"])
        await s("delete_task", task_id=task["id"], version=task["version"])

        issue = await s("create_issue", project_id=project, title="Crash on save")
        assert issue["priority_id"] is not None and issue["status"] == "New"
        high = await s("create_issue", project_id=project, title="Data loss", priority="high", severity="Critical", type="bug")
        assert [i["id"] for i in (await s("list_issues", project_id=project, priority="High"))["items"]] == [high["id"]]
        issues = (await s("list_issues", project_id=project))["items"]
        assert [i["id"] for i in issues] == [high["id"], issue["id"]], "newest first"
        await s("update_issue", issue_id=issue["id"], version=1, severity="Minor")
        await s("assign_issue", issue_id=issue["id"], user="admin")
        await s.error("delete_issue", "VERSION_CONFLICT", issue_id=issue["id"], version=1)

        epic = await s("create_epic", project_id=project, title="Big epic", color="#A5694F")
        await s("link_user_story_to_epic", epic_id=epic["id"], user_story_id=story["id"])
        await s.error("link_user_story_to_epic", "INVALID_INPUT", epic_id=epic["id"], user_story_id=story["id"])
        linked = await s("list_epic_user_stories", epic_id=epic["id"])
        assert [item["id"] for item in linked["items"]] == [story["id"]]
        assert (await s("get_user_story", user_story_id=story["id"]))["epics"][0]["id"] == epic["id"]
        assert [i["id"] for i in (await s("list_user_stories", project_id=project, epic_id=epic["id"]))["items"]] == [story["id"]]
        await s("unlink_user_story_from_epic", epic_id=epic["id"], user_story_id=story["id"])
        assert (await s("list_epic_user_stories", epic_id=epic["id"]))["items"] == []
        epic = await s("update_epic", epic_id=epic["id"], version=1, title="Bigger epic", status="Done")
        assert epic["title"] == "Bigger epic" and epic["status"] == "Done"
        await s("delete_epic", epic_id=epic["id"], version=epic["version"])
        assert (await s("list_epics", project_id=project))["items"] == []


async def test_wiki_and_comments(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        page = await s("create_wiki_page", project_id=project, slug="home", content="# Home\n\nWelcome.")
        assert page["version"] == 1
        error = await s.error("create_wiki_page", "INVALID_INPUT", project_id=project, slug="home", content="again")
        assert "already exists" in error["message"]
        await s.error("create_wiki_page", "INVALID_INPUT", project_id=project, slug="Not A Slug", content="x")
        assert (await s("get_wiki_page", project_id=project, slug="home"))["id"] == page["id"]
        page = await s("update_wiki_page", wiki_page_id=page["id"], version=1, content="New text")
        conflict = await s.error("update_wiki_page", "VERSION_CONFLICT", wiki_page_id=page["id"], version=1, content="Clash")
        assert conflict["details"]["changed_fields"] == ["content"]
        assert [p["slug"] for p in (await s("list_wiki_pages", project_id=project))["items"]] == ["home"]

        story = await s("create_user_story", project_id=project, title="Discussed")
        added = await s("add_comment", resource="user_story", id=story["id"], text="First!")
        assert added["version"] == 2
        await s("add_comment", resource="wiki", id=page["id"], text="Looks good")
        comments = (await s("list_comments", resource="user_story", id=story["id"]))["comments"]
        assert [c["text"] for c in comments] == ["First!"] and comments[0]["author"] == "admin"
        stale_edit = await s("update_user_story", user_story_id=story["id"], version=1, title="Comment did not conflict")
        assert stale_edit["version"] == 3
        await s.error("add_comment", "NOT_FOUND", resource="issue", id=999999, text="nobody home")
        await s.error("add_comment", "INVALID_INPUT", resource="sprint", id=1, text="no")
        await s("delete_wiki_page", wiki_page_id=page["id"], version=(await s("get_wiki_page", wiki_page_id=page["id"]))["version"])


async def test_a_project_needs_a_description_before_taiga_is_asked(simulator: Simulator, cache_dir: Path) -> None:
    """Taiga 6.10 refuses a project without a description, empty or missing (recordings 223-224). The
    bridge used to send `"description": ""`, which the simulator then accepted: no test saw the failure."""
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        simulator.clear_requests()
        for extra in ({}, {"description": ""}, {"description": "   "}):
            error = await s.error("create_project", "INVALID_INPUT", name="No description", **extra)
            assert error["details"]["field"] == "description", error
        assert not [request for request in simulator.requests() if request["path"].endswith("/projects")]
        created = await s("create_project", name="Described", description="What it is for")
        assert created["description"] == "What it is for"


async def test_a_sprint_of_another_project_is_named_as_the_input_at_fault(simulator: Simulator, cache_dir: Path) -> None:
    """Taiga answers 403 "You don't have permissions to set this sprint to this user story." for a sprint of
    another project (taiga-back's `pre_conditions_on_save`); the bridge used to call that a permission problem
    on a project the user owns."""
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        mine, other = await new_project(s, "Mine"), await new_project(s, "Other")
        foreign = await s("create_sprint", project_id=other, name="Theirs", start_date="2026-01-05", end_date="2026-01-19")
        error = await s.error("create_user_story", "INVALID_INPUT", project_id=mine, title="S", sprint_id=foreign["id"])
        assert error["details"]["field"] == "sprint_id" and "another project" in error["message"], error
        story = await s("create_user_story", project_id=mine, title="S")
        error = await s.error("update_user_story", "INVALID_INPUT", user_story_id=story["id"], version=story["version"],
                              sprint_id=foreign["id"])
        assert error["details"]["field"] == "sprint_id", error
