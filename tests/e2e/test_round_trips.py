"""Round trips to Taiga (issue 29): a project's names and an item's project are kept between calls, so
that warm everyday calls make one Taiga request each (a delete at a version: two), counted from the
simulator's request log; and nothing kept is ever written stale: a status renamed or deleted, a member
removed, another user's facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import Session, Simulator, connect, login, register

pytestmark = pytest.mark.anyio


def taiga_requests(simulator: Simulator) -> list[str]:
    """The Taiga requests since the last clear, as `METHOD path`."""
    return [f"{request['method']} {request['path']}" for request in simulator.requests()]


async def counted(simulator: Simulator, s: Session, tool: str, **args: Any) -> tuple[dict[str, Any], list[str]]:
    simulator.clear_requests()
    result = await s(tool, **args)
    return result, taiga_requests(simulator)


async def everyday_calls(simulator: Simulator, s: Session) -> dict[str, list[str]]:
    """The calls of the issue's table, each after the project's names were read once (warm)."""
    project = (await s("create_project", name="Round trips", description="counted"))["id"]
    meta = await s("get_project_metadata", project_id=project)
    ids = {(kind, entry["name"]): entry["id"] for kind in ("priorities", "severities", "issue_types")
           for entry in meta[kind]}
    sent: dict[str, list[str]] = {}
    story, sent["create_user_story"] = await counted(
        simulator, s, "create_user_story", project_id=project, title="Counted", status="In progress")
    assert story["status"] == "In progress"
    listed, sent["list_user_stories"] = await counted(
        simulator, s, "list_user_stories", project_id=project, status="In progress")
    assert [item["id"] for item in listed["items"]] == [story["id"]], listed
    story, sent["update_user_story"] = await counted(
        simulator, s, "update_user_story", user_story_id=story["id"], version=story["version"], status="Ready")
    assert story["status"] == "Ready"
    task, sent["create_task"] = await counted(
        simulator, s, "create_task", user_story_id=story["id"], title="Task", status="In progress")
    assert task["status"] == "In progress"
    task, sent["update_task"] = await counted(
        simulator, s, "update_task", task_id=task["id"], version=task["version"], status="Closed")
    assert task["status"] == "Closed"
    issue, sent["create_issue"] = await counted(
        simulator, s, "create_issue", project_id=project, title="Bug", priority="High", severity="Critical", type="Bug")
    assert (issue["priority_id"], issue["severity_id"], issue["type_id"]) == (
        ids["priorities", "High"], ids["severities", "Critical"], ids["issue_types", "Bug"])
    _, sent["add_comment"] = await counted(
        simulator, s, "add_comment", resource="user_story", id=story["id"], text="Counted comment")
    _, sent["search_project"] = await counted(simulator, s, "search_project", project_id=project, text="Counted")
    current = (await s("get_user_story", user_story_id=story["id"]))["version"]
    _, sent["delete_user_story"] = await counted(
        simulator, s, "delete_user_story", user_story_id=story["id"], version=current)
    return sent


async def test_warm_everyday_calls_make_one_taiga_request_each(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        sent = await everyday_calls(simulator, await login(client))
    for tool, requests in sent.items():
        expected = 2 if tool == "delete_user_story" else 1
        assert len(requests) == expected, f"{tool}: {requests}"
    assert sent["add_comment"][0].startswith("PATCH "), "a comment is one PATCH, without a read first"
    assert sent["create_task"][0] == "POST /api/v1/tasks", "the story's project was learnt from its answer"


async def test_without_kept_facts_the_same_calls_ask_taiga_again(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir, METADATA_TTL_SECONDS="0") as client:
        sent = await everyday_calls(simulator, await login(client))
    for tool in ("create_user_story", "list_user_stories", "update_user_story", "create_task", "create_issue"):
        assert any("/projects/" in request for request in sent[tool]), f"{tool}: {sent[tool]}"


async def project_with_statuses(s: Session, name: str) -> tuple[int, dict[str, int]]:
    """A new project, its names read (and so kept), and its user story statuses' ids by name."""
    project = (await s("create_project", name=name, description="kept names"))["id"]
    meta = await s("get_project_metadata", project_id=project)
    return project, {status["name"]: status["id"] for status in meta["user_story_statuses"]}


def new_names_archived(simulator: Simulator, project: int, statuses: dict[str, int]) -> None:
    """As a project admin would in Taiga: "New" becomes "Fresh", and "Archived" takes the name "New"."""
    simulator.control("lookups", {"project": project, "list": "us_statuses", "id": statuses["New"], "name": "Fresh"})
    simulator.control("lookups", {"project": project, "list": "us_statuses", "id": statuses["Archived"], "name": "New"})


async def test_a_renamed_or_deleted_status_is_never_written_from_stale_names(
        simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project, statuses = await project_with_statuses(s, "Stale names")
        story = await s("create_user_story", project_id=project, title="Moving", status="New")

        # Renamed in Taiga since the names were kept: the new name is looked up once, then written.
        simulator.control("lookups", {"project": project, "list": "us_statuses", "id": statuses["Ready"], "name": "Approved"})
        story, sent = await counted(simulator, s, "update_user_story", user_story_id=story["id"],
                                    version=story["version"], status="Approved")
        assert story["status"] == "Approved", story
        assert sent == [f"GET /api/v1/projects/{project}", f"PATCH /api/v1/userstories/{story['id']}"], sent

        # Deleted in Taiga: the kept id is refused, the names are read again, and the old name is refused
        # with the names there are now; nothing was written.
        simulator.control("lookups", {"project": project, "list": "us_statuses", "id": statuses["Done"]})
        error = await s.error("update_user_story", "INVALID_INPUT", user_story_id=story["id"],
                              version=story["version"], status="Done")
        assert error["details"]["field"] == "status" and "Done" not in error["details"]["valid"], error
        assert (await s("get_user_story", user_story_id=story["id"]))["status"] == "Approved"

        # A name given to another status since: the answer names another status than the one asked for,
        # the names are read again, and the status now called so is written.
        new_names_archived(simulator, project, statuses)
        story = await s("update_user_story", user_story_id=story["id"], version=story["version"], status="New")
        assert story["status"] == "New", story
        assert story["status_id"] == statuses["Archived"], story


async def test_a_list_filtered_by_a_name_given_to_another_status_since_lists_that_status(
        simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project, statuses = await project_with_statuses(s, "Stale filter")
        await s("create_user_story", project_id=project, title="Was new", status="New")
        archived = await s("create_user_story", project_id=project, title="Was archived", status="Archived")

        # Warm and unchanged: one request.
        listed, sent = await counted(simulator, s, "list_user_stories", project_id=project, status="New")
        assert [item["title"] for item in listed["items"]] == ["Was new"] and len(sent) == 1, (listed, sent)

        # "New" is now the name of the status that was "Archived": the kept id lists stories that show
        # another name, so the names are read again and the list asked again with the right id.
        new_names_archived(simulator, project, statuses)
        listed, sent = await counted(simulator, s, "list_user_stories", project_id=project, status="New")
        assert [item["id"] for item in listed["items"]] == [archived["id"]], listed
        assert [item["status"] for item in listed["items"]] == ["New"], listed
        assert sent == ["GET /api/v1/userstories", f"GET /api/v1/projects/{project}", "GET /api/v1/userstories"], sent


async def test_an_empty_list_filtered_by_a_kept_name_reads_the_names_again(
        simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project, statuses = await project_with_statuses(s, "Empty filter")
        archived = await s("create_user_story", project_id=project, title="Was archived", status="Archived")

        # Empty under kept names: the names are read again (unchanged), and the list stands.
        listed, sent = await counted(simulator, s, "list_user_stories", project_id=project, status="New")
        assert listed["items"] == [] and sent == ["GET /api/v1/userstories", f"GET /api/v1/projects/{project}"], sent

        # "New" is now the name of the status that was "Archived": the kept id holds no story, so the
        # list comes back empty, shows no name to check, and is asked again with the right id.
        new_names_archived(simulator, project, statuses)
        listed, sent = await counted(simulator, s, "list_user_stories", project_id=project, status="New")
        assert [item["id"] for item in listed["items"]] == [archived["id"]], listed
        assert sent == ["GET /api/v1/userstories", f"GET /api/v1/projects/{project}", "GET /api/v1/userstories"], sent


async def test_a_removed_member_is_looked_up_again_before_being_refused(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = (await s("create_project", name="Members", description="removed"))["id"]
        await s("invite_project_user", project_id=project, username="bob", role="Back")
        story = await s("create_user_story", project_id=project, title="Owned", assigned_to="bob")
        assert story["assigned_to"] == "bob"
        members = (await s("list_project_members", project_id=project))["members"]
        await s("remove_project_member", project_id=project,
                user_id=next(m["user_id"] for m in members if m["username"] == "bob"))
        simulator.clear_requests()
        error = await s.error("update_user_story", "INVALID_INPUT", user_story_id=story["id"],
                              version=story["version"], assigned_to="bob")
        assert error["details"]["field"] == "assigned_to" and "bob" not in error["details"]["valid"], error
        assert (await s("get_user_story", user_story_id=story["id"]))["assigned_to"] == "bob", "nothing written"


async def test_one_user_s_kept_names_never_answer_another_user(simulator: Simulator, cache_dir: Path) -> None:
    register(simulator, "outsider", "outsider-pass-29")
    async with connect(simulator, cache_dir) as client:
        admin = await login(client)
        project = (await admin("create_project", name="Private names", description="kept",
                               visibility="private"))["id"]
        await admin("get_project_metadata", project_id=project)
        outsider = await login(client, "outsider", "outsider-pass-29")
        simulator.clear_requests()
        result = await client.call_tool("create_user_story", {
            "session_id": outsider.session_id, "project_id": project, "title": "Intrusion", "status": "New"})
        assert result.is_error and result.structured_content["code"] in ("NOT_FOUND", "PERMISSION_DENIED"), result
        sent = taiga_requests(simulator)
        assert sent == [f"GET /api/v1/projects/{project}"], f"the outsider's own read, refused: {sent}"


def overlapped(requests: list[dict[str, Any]]) -> bool:
    """Whether some request reached Taiga while another was being answered."""
    return any(request["concurrent"] > 0 for request in requests)


def arrivals(requests: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Each request's path with how many others Taiga was answering when it came."""
    return [(request["path"], request["concurrent"]) for request in requests]


async def test_reads_that_need_nothing_of_each_other_go_out_together(simulator: Simulator, cache_dir: Path) -> None:
    # Without kept names every call reads the project's names: cold each time.
    async with connect(simulator, cache_dir, METADATA_TTL_SECONDS="0") as client:
        s = await login(client)
        project = (await s("create_project", name="Together", description="in flight"))["id"]
        await s("create_user_story", project_id=project, title="Parallel search", status="Ready")

        # Both answers held 300 ms: requests sent one after the other never overlap.
        simulator.inject({"kind": "latency", "ms": 300}, path_prefix="/api/v1/", times=2)
        simulator.clear_requests()
        found = await s("search_project", project_id=project, text="Parallel")
        assert found["user_stories"][0]["status"] == "Ready", found
        requests = simulator.requests()
        assert sorted(taiga_requests(simulator)) == [f"GET /api/v1/projects/{project}", "GET /api/v1/search"]
        assert overlapped(requests), f"the search and the names its hits need go out together: {arrivals(requests)}"

        simulator.inject({"kind": "latency", "ms": 300}, path_prefix="/api/v1/", times=2)
        simulator.clear_requests()
        members = (await s("list_project_members", project_id=project))["members"]
        assert [member["username"] for member in members] == ["admin"], members
        assert sorted(taiga_requests(simulator)) == ["GET /api/v1/memberships", f"GET /api/v1/projects/{project}"]
        requests = simulator.requests()
        assert overlapped(requests), f"the members and their names go out together: {arrivals(requests)}"

        # A write needs the names first: one after the other.
        simulator.inject({"kind": "latency", "ms": 300}, path_prefix="/api/v1/", times=2)
        simulator.clear_requests()
        await s("create_user_story", project_id=project, title="After the names", status="New")
        assert taiga_requests(simulator) == [f"GET /api/v1/projects/{project}", "POST /api/v1/userstories"]
        assert not overlapped(simulator.requests())
