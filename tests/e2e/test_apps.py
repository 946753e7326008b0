"""MCP Apps (issue 31): the sprint board and the burndown, run as a host runs them. A small host page
(apps/test-host, built on the official MCP client and ext-apps' AppBridge) talks to `taiga-mcp` over
Streamable HTTP through a same-origin proxy, reads each app's `ui://` resource, loads it into a
sandboxed iframe under the app's declared CSP and hands it the tool result; Debian's chromium,
driven by selenium, is the browser. The simulator is Taiga and counts what the app writes."""

from __future__ import annotations

import contextlib
import datetime
import http.client
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from conftest import HttpServer, Simulator, taiga

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PROJECT = "admin-demo-scrum"
IDENTITY = {"TAIGA_USERNAME": "admin", "TAIGA_PASSWORD": "123123"}
# Screenshots for the README are written to docs/ when this is set; elsewhere to the test's tmp.
SCREENSHOTS = os.environ.get("UPDATE_APP_SCREENSHOTS")


@pytest.fixture(scope="module")
def host_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The host page, bundled from apps/test-host with the pinned npm packages (`make e2e` installs them)."""
    if not (ROOT / "apps" / "node_modules").is_dir():
        pytest.fail("apps/node_modules is missing: run `npm ci --prefix apps` (make e2e does)")
    out = tmp_path_factory.mktemp("apps-host")
    subprocess.run(["node", str(ROOT / "apps" / "build.mjs"), "--host-page", str(out)], check=True, timeout=120)
    return out


class Proxy:
    """Serves the host page and forwards `/mcp` to taiga-mcp, so that the page's MCP client talks
    to the server from the page's own origin (as a host's backend would), response streams and all."""

    HOP = {"connection", "transfer-encoding", "keep-alive", "content-length"}

    def __init__(self, page: Path, upstream_port: int) -> None:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/mcp"):
                    proxy.forward(self)
                    return
                name = {"/": "host.html", "/host.js": "host.js"}.get(self.path.split("?")[0])
                if name is None:
                    self.send_error(404)
                    return
                body = (page / name).read_bytes()
                self.send_response(200)
                self.send_header("content-type", "text/html" if name.endswith("html") else "text/javascript")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                proxy.forward(self)

            def do_DELETE(self) -> None:
                proxy.forward(self)

        self.upstream_port = upstream_port
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else None
        # The browser's Origin and Host name the page; the server sees its own host, as from a backend.
        headers = {name: value for name, value in handler.headers.items()
                   if name.lower() not in {"host", "origin", "referer", "connection", "content-length"}}
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        upstream.request(handler.command, handler.path, body=body, headers=headers)
        response = upstream.getresponse()
        handler.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in self.HOP:
                handler.send_header(name, value)
        handler.end_headers()
        with contextlib.suppress(OSError):
            while chunk := response.read1(65536):
                handler.wfile.write(chunk)
                handler.wfile.flush()
        upstream.close()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1100,800", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@contextlib.contextmanager
def deployment(simulator: Simulator, cache_dir: Path, page: Path, **extra: str) -> Iterator[Proxy]:
    server = HttpServer(simulator, cache_dir, **IDENTITY, **extra)
    proxy = Proxy(page, server.port)
    try:
        yield proxy
    finally:
        proxy.stop()
        server.stop()


def seed(simulator: Simulator) -> dict[str, Any]:
    """A sprint with three stories, written in Taiga as people would: points, an assignee, a
    blocked story, tasks half done, and one story closed today."""
    detail = taiga(simulator, "GET", f"/projects/by_slug?slug={PROJECT}")
    project = detail["id"]
    status = {entry["name"]: entry["id"] for entry in detail["us_statuses"]}
    point = {entry["name"]: entry["id"] for entry in detail["points"]}
    roles = [role["id"] for role in detail["roles"] if role.get("computable", True)]
    # Ten days around today: the simulator stamps a story closed today, so the line drops today.
    today = datetime.datetime.now(datetime.timezone.utc).date()
    start, finish = today - datetime.timedelta(days=4), today + datetime.timedelta(days=5)
    sprint = taiga(simulator, "POST", "/milestones", {"project": project, "name": "Sprint 31",
                                                       "estimated_start": start.isoformat(),
                                                       "estimated_finish": finish.isoformat()})

    def story(subject: str, status_name: str, points: str, **fields: Any) -> dict[str, Any]:
        return taiga(simulator, "POST", "/userstories", {
            "project": project, "subject": subject, "milestone": sprint["id"], "status": status[status_name],
            "points": {str(role): point[points] for role in roles[:1]}, **fields})

    cards = {
        "checkout": story("Checkout with saved cards", "New", "5", assigned_to=detail["owner"]["id"]),
        "invoices": story("Export invoices as PDF", "In progress", "3", is_blocked=True,
                          blocked_note="Waiting for the legal review"),
        "search": story("Search by customer", "Done", "2"),
    }
    task_status = {entry["name"]: entry["id"] for entry in detail["task_statuses"]}
    for subject, closed in (("Draft the PDF layout", True), ("Wire the export button", False)):
        taiga(simulator, "POST", "/tasks", {"project": project, "user_story": cards["invoices"]["id"],
                                            "subject": subject, "milestone": sprint["id"],
                                            "status": task_status["Closed" if closed else "New"]})
    # The columns a board has: the statuses in Taiga's order, archived ones only while a story is in one.
    shown = [entry["name"] for entry in sorted(detail["us_statuses"], key=lambda entry: entry["order"])
             if not entry["is_archived"]]
    return {"project": project, "sprint": sprint, "cards": cards, "status": status, "columns": shown}


def open_app(browser: webdriver.Chrome, proxy: Proxy, tool: str, arguments: dict[str, Any],
             theme: str = "light") -> dict[str, Any]:
    browser.get(proxy.url)
    opened = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.openApp(arguments[0], arguments[1], arguments[2]).then(done, (e) => done({error: String(e)}));",
        tool, arguments, theme)
    assert "error" not in opened, opened
    browser.switch_to.frame(browser.find_element(By.ID, "app"))
    return opened


def wait_for(browser: webdriver.Chrome, css: str, count: int | None = None, timeout: float = 15) -> list[WebElement]:
    def found(driver: webdriver.Chrome) -> list[WebElement] | bool:
        elements = driver.find_elements(By.CSS_SELECTOR, css)
        return elements if elements and (count is None or len(elements) == count) else False

    return WebDriverWait(browser, timeout).until(found)


def columns(browser: webdriver.Chrome) -> dict[str, list[str]]:
    """Each column's name and the refs of its cards, as the page shows them."""
    shown = {}
    for column in browser.find_elements(By.CSS_SELECTOR, ".column"):
        name = column.find_element(By.CSS_SELECTOR, "header .name").text
        shown[name] = [card.find_element(By.CSS_SELECTOR, ".ref").text.split()[0]
                       for card in column.find_elements(By.CSS_SELECTOR, ".card")]
    return shown


def patches(simulator: Simulator, story: int) -> list[dict[str, Any]]:
    return [request for request in simulator.requests()
            if request["method"] == "PATCH" and request["path"] == f"/api/v1/userstories/{story}"]


def status_text(browser: webdriver.Chrome, contains: str) -> str:
    return WebDriverWait(browser, 15).until(
        lambda driver: (text := driver.find_element(By.ID, "status").text) and contains in text and text)


def screenshot(browser: webdriver.Chrome, name: str, tmp_path: Path) -> None:
    browser.switch_to.default_content()
    target = ROOT / "docs" / name if SCREENSHOTS else tmp_path / name
    browser.find_element(By.ID, "app").screenshot(str(target))
    browser.switch_to.frame(browser.find_element(By.ID, "app"))


def test_the_board_shows_taiga_s_columns_and_cards_and_moves_a_card_with_one_patch_at_its_version(
        simulator: Simulator, cache_dir: Path, host_page: Path, browser: webdriver.Chrome, tmp_path: Path) -> None:
    seeded = seed(simulator)
    cards = seeded["cards"]
    with deployment(simulator, cache_dir, host_page) as proxy:
        opened = open_app(browser, proxy, "get_sprint_board", {"sprint_id": seeded["sprint"]["id"]})
        assert opened["uri"] == "ui://taiga/sprint-board"
        assert opened["bytes"] <= 150 * 1024
        assert opened["meta"] == {"taiga-mcp/offered": ["update_user_story", "get_sprint_board"]}
        wait_for(browser, ".card", 3)
        board = opened["structured"]
        # The columns are the project's statuses in Taiga's order, each card where Taiga has it.
        expected = {column["name"]: [f"#{card['ref']}" for card in column["cards"]] for column in board["columns"]}
        assert list(expected) == seeded["columns"] and "Archived" in seeded["status"]
        assert columns(browser) == expected
        assert expected["New"] == [f"#{cards['checkout']['ref']}"]
        blocked = browser.find_element(By.CSS_SELECTOR, f"[data-card='{cards['invoices']['id']}']")
        assert "blocked" in blocked.get_attribute("class")
        assert blocked.get_attribute("title") == "Waiting for the legal review"
        assert "1/2 tasks" in blocked.text
        checkout = browser.find_element(By.CSS_SELECTOR, f"[data-card='{cards['checkout']['id']}']")
        assert "Administrator" in checkout.text and "5 pts" in checkout.text
        assert checkout.get_attribute("draggable") == "true"
        header = browser.find_element(By.ID, "totals").text
        assert f"of {board['total_points']:g} points closed" in header and "read-only" not in header
        # Colours are Taiga's.
        new_column = next(column for column in board["columns"] if column["name"] == "New")
        border = browser.find_element(By.CSS_SELECTOR, f"[data-status='{new_column['status_id']}'] header")
        assert border.value_of_css_property("border-top-color") != ""
        screenshot(browser, "app-sprint-board.png", tmp_path)

        # Moving a card by keyboard: one PATCH, at the version the card holds, to the next column.
        simulator.clear_requests()
        checkout.click()
        checkout.send_keys(Keys.ARROW_RIGHT)
        status_text(browser, "moved to Ready")
        sent = patches(simulator, cards["checkout"]["id"])
        assert len(sent) == 1, sent
        assert json.loads(sent[0]["body"]) == {"status": seeded["status"]["Ready"], "version": cards["checkout"]["version"]}
        assert columns(browser)["Ready"] == [f"#{cards['checkout']['ref']}"]
        moved = browser.find_element(By.CSS_SELECTOR, f"[data-card='{cards['checkout']['id']}']")
        assert moved.get_attribute("data-version") == str(cards["checkout"]["version"] + 1)

        # Dragging a card onto a column (the HTML drag-and-drop events chromium fires): one PATCH too.
        simulator.clear_requests()
        new_status = seeded["status"]["New"]
        browser.execute_script(
            "const card = document.querySelector(`[data-card='${arguments[0]}']`);"
            "const column = document.querySelector(`[data-status='${arguments[1]}']`);"
            "const data = new DataTransfer();"
            "card.dispatchEvent(new DragEvent('dragstart', {dataTransfer: data, bubbles: true}));"
            "column.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));"
            "column.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));",
            cards["search"]["id"], new_status)
        status_text(browser, "moved to New")
        sent = patches(simulator, cards["search"]["id"])
        assert [json.loads(request["body"]) for request in sent] == [{"status": new_status, "version": cards["search"]["version"]}]
        assert columns(browser)["New"] == [f"#{cards['search']['ref']}"]

        # Someone moves the blocked story in Taiga meanwhile. Taiga checks versions field by field
        # (recording 218), so only a change of the same field conflicts: the app's move does, nothing
        # is written twice, and the board shows the story where it is now.
        taiga(simulator, "PATCH", f"/userstories/{cards['invoices']['id']}",
              {"status": seeded["status"]["Ready for test"], "version": cards["invoices"]["version"]})
        simulator.clear_requests()
        card = browser.find_element(By.CSS_SELECTOR, f"[data-card='{cards['invoices']['id']}']")
        card.click()
        card.send_keys(Keys.ARROW_LEFT)
        said = status_text(browser, "changed by someone else")
        assert "Nothing was written" in said and f"version {cards['invoices']['version'] + 1}" in said
        sent = patches(simulator, cards["invoices"]["id"])
        assert len(sent) == 1 and json.loads(sent[0]["body"])["version"] == cards["invoices"]["version"]
        wait_for(browser, f"[data-card='{cards['invoices']['id']}'][data-version='{cards['invoices']['version'] + 1}']")
        assert columns(browser)["Ready for test"] == [f"#{cards['invoices']['ref']}"]
        assert columns(browser)["In progress"] == []
        assert browser.execute_script("return document.body.classList.contains('movable')") is True


def test_the_board_only_shows_in_read_only_mode(
        simulator: Simulator, cache_dir: Path, host_page: Path, browser: webdriver.Chrome) -> None:
    seeded = seed(simulator)
    # Taiga's text is shown as text: a title that is markup stays a title.
    hostile = '<img src=x onerror="window.pwned=1">Tricky <b>title</b>'
    search = seeded["cards"]["search"]
    taiga(simulator, "PATCH", f"/userstories/{search['id']}", {"subject": hostile, "version": search["version"]})
    with deployment(simulator, cache_dir, host_page, TAIGA_READ_ONLY="true") as proxy:
        opened = open_app(browser, proxy, "get_sprint_board", {"sprint_id": seeded["sprint"]["id"]})
        assert opened["meta"] == {"taiga-mcp/offered": ["get_sprint_board"]}
        card = wait_for(browser, ".card", 3)[0]
        shown = browser.find_element(By.CSS_SELECTOR, f"[data-card='{search['id']}'] .subject")
        assert shown.text == hostile
        assert browser.find_elements(By.CSS_SELECTOR, "img, b") == []
        assert browser.execute_script("return window.pwned") is None
        assert card.get_attribute("draggable") == "false"
        assert "read-only" in browser.find_element(By.ID, "totals").text
        simulator.clear_requests()
        card.click()
        card.send_keys(Keys.ARROW_RIGHT)
        time.sleep(1)
        assert [r for r in simulator.requests() if r["method"] != "GET"] == []
        assert browser.find_element(By.ID, "status").text == ""


def test_the_burndown_draws_taiga_s_days_against_the_optimal_line_in_both_themes(
        simulator: Simulator, cache_dir: Path, host_page: Path, browser: webdriver.Chrome, tmp_path: Path) -> None:
    seeded = seed(simulator)
    with deployment(simulator, cache_dir, host_page) as proxy:
        opened = open_app(browser, proxy, "get_sprint_stats", {"sprint_id": seeded["sprint"]["id"]})
        assert opened["uri"] == "ui://taiga/burndown"
        assert opened["bytes"] <= 150 * 1024
        stats = opened["structured"]
        days = stats["burndown"]
        assert len(days) == 10 and days[0]["open_points"] > days[-1]["open_points"]
        points = wait_for(browser, "circle.point", len(days))
        assert [(p.get_attribute("data-day"), float(p.get_attribute("data-open"))) for p in points] == \
            [(day["day"], day["open_points"]) for day in days]
        # The chart's heights follow the data: a day with fewer open points is drawn lower.
        heights = [float(p.get_attribute("cy")) for p in points]
        for (a, b), (ya, yb) in zip(zip(days, days[1:]), zip(heights, heights[1:])):
            assert (a["open_points"] > b["open_points"]) == (ya < yb)
        optimal = browser.find_element(By.CSS_SELECTOR, "polyline.optimal").get_attribute("points").split()
        assert len(optimal) == len(days)
        totals = browser.find_element(By.ID, "totals").text
        assert f"{stats['completed_points']:g} / {stats['total_points']:g}" in totals
        assert f"{stats['user_stories']['completed']} / {stats['user_stories']['total']}" in totals
        light = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        screenshot(browser, "app-burndown.png", tmp_path)
        # The host turns dark: the app follows its context.
        browser.switch_to.default_content()
        browser.execute_script("window.setTheme('dark')")
        browser.switch_to.frame(browser.find_element(By.ID, "app"))
        WebDriverWait(browser, 10).until(
            lambda driver: driver.execute_script("return document.documentElement.dataset.theme") == "dark")
        dark = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert light != dark
        luminance = sum(int(part) for part in dark[dark.index("(") + 1:dark.index(")")].split(",")[:3])
        assert luminance < 200, dark
        screenshot(browser, "app-burndown-dark.png", tmp_path)


async def test_apps_follow_the_tool_choices(simulator: Simulator, cache_dir: Path) -> None:
    """A tool not offered lists no app, and its app cannot be read either."""
    server = HttpServer(simulator, cache_dir, **IDENTITY, TAIGA_TOOLSETS="projects,stories")
    try:
        async with Client(streamable_http_client(f"{server.base}/mcp")) as client:
            listed = [resource.uri for resource in (await client.list_resources()).resources]
            assert not [uri for uri in listed if uri.startswith("ui://")]
            with pytest.raises(MCPError) as refused:
                await client.read_resource("ui://taiga/sprint-board")
            assert refused.value.error.code == -32602
            tools = (await client.list_tools()).tools
            assert not [tool for tool in tools if tool.meta and "ui" in tool.meta]
    finally:
        server.stop()
    server = HttpServer(simulator, cache_dir, **IDENTITY, TAIGA_TOOLSETS="reports")
    try:
        async with Client(streamable_http_client(f"{server.base}/mcp")) as client:
            listed = [resource.uri for resource in (await client.list_resources()).resources]
            assert [uri for uri in listed if uri.startswith("ui://")] == ["ui://taiga/burndown"]
            app = (await client.read_resource("ui://taiga/burndown")).contents[0]
            assert app.mime_type == "text/html;profile=mcp-app"
            assert app.meta["ui"]["csp"] == {"connectDomains": [], "resourceDomains": [], "frameDomains": [],
                                             "baseUriDomains": []}
            with pytest.raises(MCPError):
                await client.read_resource("ui://taiga/sprint-board")
    finally:
        server.stop()


async def test_a_kanban_board_is_one_request_once_its_statuses_are_kept(simulator: Simulator, cache_dir: Path) -> None:
    """Without a sprint: the project's stories, its statuses read beside them the first time and
    kept after; the text is the board in words for hosts without apps."""
    detail = taiga(simulator, "GET", "/projects/by_slug?slug=admin-demo-kanban")
    status = {entry["name"]: entry["id"] for entry in detail["us_statuses"]}
    for subject, name in (("Triage the inbox", "New"), ("Ship the newsletter", "Ready")):
        taiga(simulator, "POST", "/userstories", {"project": detail["id"], "subject": subject, "status": status[name]})
    server = HttpServer(simulator, cache_dir, **IDENTITY)
    try:
        async with Client(streamable_http_client(f"{server.base}/mcp")) as client:
            counts = []
            for _ in range(2):
                simulator.clear_requests()
                result = await client.call_tool("get_sprint_board", {"project_id": detail["id"]})
                counts.append(sorted(r["path"] for r in simulator.requests()))
            assert not result.is_error, result.structured_content
            assert counts == [["/api/v1/projects/%d" % detail["id"], "/api/v1/userstories"], ["/api/v1/userstories"]]
            board = result.structured_content
            assert board["sprint"] is None
            cards = {column["name"]: [card["subject"] for card in column["cards"]] for column in board["columns"]}
            assert cards["New"] == ["Triage the inbox"] and cards["Ready"] == ["Ship the newsletter"]
            text = result.content[0].text
            assert text.startswith(f"Board of project {detail['id']}: 2 stories"), text
            assert "- #" in text and "Ship the newsletter" in text
    finally:
        server.stop()
