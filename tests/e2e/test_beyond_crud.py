"""Taiga beyond CRUD, end to end through a real MCP client, `taiga-mcp` and the simulator:
attachments, custom fields, blocked and due dates, promotion, watchers, search, sprint and project
figures, item history and the project timeline."""

from __future__ import annotations

import base64
import json
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import Simulator, connect, taiga
from test_tools import login, new_project

pytestmark = pytest.mark.anyio

# Bytes that are not UTF-8 text: they must come back as base64.
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


async def test_attachments_round_trip_on_every_kind(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        story = await s("create_user_story", project_id=project, title="Minutes")
        task = await s("create_task", project_id=project, title="Write up")
        issue = await s("create_issue", project_id=project, title="Typo")
        epic = await s("create_epic", project_id=project, title="Docs")
        wiki = await s("create_wiki_page", project_id=project, slug="notes", content="# Notes")
        simulator.clear_requests()
        note = await s("upload_attachment", resource="user_story", id=story["id"], file_name="minutes.md",
                       text="# Minutes\n\nÉtienne agreed.", description="Monday's meeting")
        assert note["name"] == "minutes.md" and note["description"] == "Monday's meeting"
        assert note["size"] == len("# Minutes\n\nÉtienne agreed.".encode())
        assert "#" not in note["url"] and "?" not in note["url"]
        upload = next(r for r in simulator.requests() if r["method"] == "POST")
        headers = dict(upload["headers"])
        # What curl -F sends: a multipart body with its length, never chunked.
        assert headers["content-type"].startswith("multipart/form-data; boundary=")
        assert "transfer-encoding" not in headers
        assert int(headers["content-length"]) == len(upload["body"].encode())
        assert 'filename="minutes.md"' in upload["body"] and "Content-Type: text/markdown" in upload["body"]

        back = await s("get_attachment", resource="user_story", attachment_id=note["id"])
        assert back["encoding"] == "text" and back["content"] == "# Minutes\n\nÉtienne agreed."
        # The web server serving Taiga's media does not know `.md` (octet-stream); the name does.
        assert back["content_type"] == "text/markdown"

        for resource, item in [("task", task), ("issue", issue), ("epic", epic), ("wiki", wiki)]:
            image = await s("upload_attachment", resource=resource, id=item["id"], file_name="pixel.png",
                            base64=base64.b64encode(PNG_HEADER).decode())
            read = await s("get_attachment", resource=resource, attachment_id=image["id"])
            assert read["encoding"] == "base64" and base64.b64decode(read["content"]) == PNG_HEADER, resource
            assert read["content_type"] == "image/png"
            listed = await s("list_attachments", resource=resource, id=item["id"])
            assert [a["name"] for a in listed["items"]] == ["pixel.png"], resource

        described = await s("update_attachment", resource="user_story", attachment_id=note["id"],
                            description="Minutes, final", is_deprecated=True)
        assert described["description"] == "Minutes, final" and described["is_deprecated"] is True
        error = await s.error("update_attachment", "INVALID_INPUT", resource="user_story", attachment_id=note["id"])
        assert error["details"]["field"] == "description"
        assert (await s("delete_attachment", resource="user_story", attachment_id=note["id"]))["deleted"] is True
        assert (await s("list_attachments", resource="user_story", id=story["id"]))["items"] == []
        await s.error("get_attachment", "NOT_FOUND", resource="user_story", attachment_id=note["id"])

        error = await s.error("upload_attachment", "INVALID_INPUT", resource="task", id=task["id"],
                              file_name="../../etc/passwd", text="x")
        assert error["details"]["field"] == "file_name"
        error = await s.error("upload_attachment", "INVALID_INPUT", resource="task", id=task["id"],
                              file_name="a.bin", base64="not base64!")
        assert error["details"]["field"] == "base64"
        error = await s.error("upload_attachment", "INVALID_INPUT", resource="task", id=task["id"], file_name="a.txt")
        assert "text or as base64" in error["message"]
        history = await s("get_item_history", resource="task", id=task["id"])
        assert history["items"][0]["changes"]["attachments"]["added"] == ["pixel.png"]


async def test_the_attachment_cap_holds_both_ways(simulator: Simulator, cache_dir: Path) -> None:
    big = "x" * 3000
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        story = await s("create_user_story", project_id=project, title="Logs")
        stored = await s("upload_attachment", resource="user_story", id=story["id"], file_name="big.log", text=big)
    async with connect(simulator, cache_dir, MAX_ATTACHMENT_KB="2") as client:
        s = await login(client)
        simulator.clear_requests()
        error = await s.error("upload_attachment", "INVALID_INPUT", resource="user_story", id=story["id"],
                              file_name="big.log", text=big)
        assert error["details"]["field"] == "text"
        assert "3000 bytes" in error["message"] and "2048" in error["message"] and "MAX_ATTACHMENT_KB" in error["message"]
        assert simulator.requests() == [], "a refused file is never sent"
        error = await s.error("get_attachment", "INVALID_INPUT", resource="user_story", attachment_id=stored["id"])
        assert error["details"]["url"] == stored["url"]
        assert not any(r["path"].startswith("/media/") for r in simulator.requests())


async def test_attachment_urls_off_the_taiga_origin_are_not_fetched(cache_dir: Path) -> None:
    # Taiga's MEDIA_URL may point anywhere; the bridge reads files only from the session's origin.
    simulator = Simulator("demo", "--media-url", "http://169.254.169.254/latest/meta-data")
    try:
        async with connect(simulator, cache_dir) as client:
            s = await login(client)
            project = await new_project(s)
            story = await s("create_user_story", project_id=project, title="Notes")
            file = await s("upload_attachment", resource="user_story", id=story["id"], file_name="a.txt", text="hi")
            assert file["url"].startswith("http://169.254.169.254/")
            error = await s.error("get_attachment", "HOST_NOT_ALLOWED", resource="user_story",
                                  attachment_id=file["id"])
            assert "169.254.169.254" in error["message"] and simulator.url in error["message"]
    finally:
        simulator.stop()


async def test_custom_fields_by_name_with_types_and_versions(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        for name, kind, extra in [("Customer", "text", None), ("Platform", "dropdown", ["web", "mobile"]),
                                  ("Deadline", "date", None), ("Signed", "checkbox", None),
                                  ("Budget", "number", None), ("Spec", "url", None)]:
            body = {"project": project, "name": name, "type": kind, **({"extra": extra} if extra else {})}
            taiga(simulator, "POST", "/userstory-custom-attributes", body)
        taiga(simulator, "POST", "/task-custom-attributes", {"project": project, "name": "Hours", "type": "number"})

        attributes = (await s("list_custom_attributes", project_id=project, resource="user_story"))["attributes"]
        assert [(a["name"], a["type"]) for a in attributes][:2] == [("Customer", "text"), ("Platform", "dropdown")]
        assert attributes[1]["choices"] == ["web", "mobile"]
        tasks = (await s("list_custom_attributes", project_id=project, resource="task"))["attributes"]
        assert [a["name"] for a in tasks] == ["Hours"]

        story = await s("create_user_story", project_id=project, title="Checkout")
        current = await s("get_custom_values", resource="user_story", id=story["id"])
        assert current["values"] == {"Customer": None, "Platform": None, "Deadline": None, "Signed": None,
                                     "Budget": None, "Spec": None}
        written = await s("set_custom_values", resource="user_story", id=story["id"], version=current["version"],
                          values={"Customer": "ACME", "Platform": "web", "Deadline": "2026-12-24",
                                  "Signed": True, "Budget": 1200.5, "Spec": "https://example.com/spec"})
        assert written["values"]["Customer"] == "ACME" and written["values"]["Budget"] == 1200.5
        assert written["version"] == current["version"] + 1
        assert (await s("get_custom_values", resource="user_story", id=story["id"])) == written

        for values, words in [({"Platform": "desktop"}, "web, mobile"), ({"Deadline": "24/12/2026"}, "YYYY-MM-DD"),
                              ({"Signed": "yes"}, "true or false"), ({"Budget": "1200"}, "a number"),
                              ({"Spec": "javascript:alert(1)"}, "http"), ({"Colour": "red"}, "Customer, Platform")]:
            error = await s.error("set_custom_values", "INVALID_INPUT", resource="user_story", id=story["id"],
                                  version=written["version"], values=values)
            assert error["details"]["field"] == "values" and words in error["message"], error

        # Taiga takes any version for custom values (recording 193); the bridge does not.
        simulator.clear_requests()
        error = await s.error("set_custom_values", "VERSION_CONFLICT", resource="user_story", id=story["id"],
                              version=current["version"], values={"Customer": "Other"})
        assert error["details"]["current_version"] == written["version"]
        assert not any(r["method"] == "PATCH" for r in simulator.requests())
        cleared = await s("set_custom_values", resource="user_story", id=story["id"], version=written["version"],
                          values={"Customer": None})
        assert cleared["values"]["Customer"] is None and cleared["values"]["Platform"] == "web"
        history = await s("get_item_history", resource="user_story", id=story["id"])
        assert history["items"][0]["changes"]["custom_fields"]["Customer"] == ["ACME", None]
        await s.error("get_custom_values", "INVALID_INPUT", resource="wiki", id=story["id"])


async def test_blocked_and_due_dates(simulator: Simulator, cache_dir: Path) -> None:
    soon = (date.today() + timedelta(days=3)).isoformat()
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        blocked = await s("create_user_story", project_id=project, title="Payments", is_blocked=True,
                          blocked_note="waiting for the bank", due_date=soon)
        assert blocked["is_blocked"] is True and blocked["blocked_note"] == "waiting for the bank"
        assert blocked["due_date"] == soon and blocked["due_date_status"] == "due_soon"
        await s("create_user_story", project_id=project, title="Plain")
        items = {i["title"]: i for i in (await s("list_user_stories", project_id=project))["items"]}
        assert items["Payments"]["is_blocked"] is True and items["Payments"]["due_date"] == soon
        assert "is_blocked" not in items["Plain"] and "due_date" not in items["Plain"]

        freed = await s("update_user_story", user_story_id=blocked["id"], version=blocked["version"],
                        is_blocked=False, due_date=None)
        assert freed["is_blocked"] is False and freed["due_date"] is None
        items = {i["title"]: i for i in (await s("list_user_stories", project_id=project))["items"]}
        assert "is_blocked" not in items["Payments"] and "due_date" not in items["Payments"]

        task = await s("create_task", project_id=project, title="Call the bank", due_date="2020-01-01")
        assert task["due_date_status"] == "past_due"
        issue = await s("create_issue", project_id=project, title="Card refused", is_blocked=True)
        assert (await s("list_issues", project_id=project))["items"][0]["is_blocked"] is True
        updated = await s("update_issue", issue_id=issue["id"], version=issue["version"], blocked_note="on hold")
        assert updated["blocked_note"] == "on hold"
        error = await s.error("create_task", "INVALID_INPUT", project_id=project, title="x", due_date="2026-02-30")
        assert error["details"]["field"] == "due_date"
        error = await s.error("update_task", "INVALID_INPUT", task_id=task["id"], version=task["version"],
                              is_blocked="yes")
        assert error["details"]["field"] == "is_blocked"


async def test_promote_an_issue_and_watch_items(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        issue = await s("create_issue", project_id=project, title="Export to CSV", description="Users ask for it")
        promoted = await s("promote_issue_to_user_story", issue_id=issue["id"])
        story = promoted["user_story"]
        assert promoted["issue_id"] == issue["id"] and story["title"] == "Export to CSV"
        assert story["description"] == "Users ask for it"
        assert story["ref"] != issue["ref"]
        listed = (await s("list_user_stories", project_id=project))["items"]
        assert [i["ref"] for i in listed] == [story["ref"]]
        history = await s("get_item_history", resource="issue", id=issue["id"])
        assert any("promoted_to" in entry.get("changes", {}) for entry in history["items"])

        watched = await s("watch_item", resource="issue", id=issue["id"])
        assert watched["watchers"] == ["admin"]
        assert (await s("unwatch_item", resource="issue", id=issue["id"]))["watchers"] == []
        bob = await login(client, "bob")
        await bob.error("watch_item", "PERMISSION_DENIED", resource="user_story", id=story["id"])
        await s.error("promote_issue_to_user_story", "NOT_FOUND", issue_id=999999)


async def test_search_a_project(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        await s("create_user_story", project_id=project, title="Invoice export", status="Ready")
        await s("create_user_story", project_id=project, title="Login page")
        await s("create_task", project_id=project, title="Invoice numbering")
        await s("create_issue", project_id=project, title="Broken invoices")
        await s("create_wiki_page", project_id=project, slug="invoicing", content="How we invoice")
        found = await s("search_project", project_id=project, text="invoic")
        assert found["counts"] == {"user_stories": 1, "tasks": 1, "issues": 1, "epics": 0, "wiki_pages": 1}
        assert found["total"] == sum(found["counts"].values()) == 4
        assert found["user_stories"][0]["title"] == "Invoice export" and found["user_stories"][0]["status"] == "Ready"
        assert found["wiki_pages"][0]["slug"] == "invoicing"
        nothing = await s("search_project", project_id=project, text="zebra")
        assert sum(nothing["counts"].values()) == 0
        await s.error("search_project", "INVALID_INPUT", project_id=project, text="")


async def test_sprint_burndown_and_project_figures(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        start = date.today() - timedelta(days=2)
        sprint = await s("create_sprint", project_id=project, name="Sprint 1", start_date=start.isoformat(),
                         end_date=(start + timedelta(days=4)).isoformat())
        done = await s("create_user_story", project_id=project, title="Done", points="5", sprint_id=sprint["id"])
        still_open = await s("create_user_story", project_id=project, title="Open", points="3", sprint_id=sprint["id"])
        await s("update_user_story", user_story_id=done["id"], version=done["version"], status="Done")
        # A story's points are the sum over its estimating roles (each got the same estimate).
        closed, total = done["total_points"], done["total_points"] + still_open["total_points"]
        assert closed / total == 5 / 8

        stats = await s("get_sprint_stats", sprint_id=sprint["id"])
        assert stats["name"] == "Sprint 1" and stats["total_points"] == total and stats["completed_points"] == closed
        assert stats["user_stories"] == {"total": 2, "completed": 1}
        assert stats["completion_percent"] == 62.5
        days = stats["burndown"]
        assert [d["day"] for d in days] == [(start + timedelta(days=n)).isoformat() for n in range(5)]
        assert days[0]["optimal_points"] == total and days[-1]["optimal_points"] == 0
        assert days[0]["open_points"] == total

        figures = await s("get_project_stats", project_id=project)
        assert figures["defined_points"] == total and figures["closed_points"] == closed
        assert figures["completion_percent"] == 62.5
        await s.error("get_sprint_stats", "NOT_FOUND", sprint_id=999999)


async def test_item_history_and_project_timeline(simulator: Simulator, cache_dir: Path) -> None:
    async with connect(simulator, cache_dir) as client:
        s = await login(client)
        project = await new_project(s)
        story = await s("create_user_story", project_id=project, title="Draft")
        story = await s("update_user_story", user_story_id=story["id"], version=story["version"], title="Final",
                        status="In progress")
        await s("add_comment", resource="user_story", id=story["id"], text="Looks good")

        history = await s("get_item_history", resource="user_story", id=story["id"])
        newest, changed = history["items"][0], history["items"][1]
        assert newest["comment"] == "Looks good" and newest["author"] == "admin"
        assert changed["changes"]["title"] == ["Draft", "Final"]
        assert changed["changes"]["status"] == ["New", "In progress"]
        assert newest["at"] >= changed["at"]
        first = await s("get_item_history", resource="user_story", id=story["id"], page_size=1)
        assert first["items"] == history["items"][:1] and first["has_next"] is True

        timeline = await s("get_project_timeline", project_id=project)
        events = timeline["items"]
        assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
        assert events[0]["kind"] == "user_story" and events[0]["item"]["title"] == "Final"
        assert any(e["event"] == "create" and e["kind"] == "project" for e in events)
        await s.error("get_project_timeline", "NOT_FOUND", project_id=999999)
