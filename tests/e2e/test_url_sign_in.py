"""Sign-in by URL elicitation with real parts: the official MCP Python SDK client receives the link in
its elicitation callback, a real browser (Debian's chromium, driven by selenium) opens it and signs
in, and the `login` call completes with a session. The password appears in no MCP message, no log
line at trace level and no metric."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import anyio
import pytest
from mcp import Client, StdioServerParameters, stdio_client, types
from mcp.client.streamable_http import streamable_http_client
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import register, TAIGA_MCP, HttpServer, Simulator, body, free_port, server_env

pytestmark = pytest.mark.anyio

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
# Not skipped when missing: a sign-in nobody saw work in a browser is not tested.
assert CHROMIUM and CHROMEDRIVER, "needs Debian's chromium and chromium-driver (tests/run installs them)"

FRANK = ("frank", "Frank-s3cret-Pa55")
SIGNED_IN = "You can close this tab."
# Every line of the bridge and its libraries at trace level, but the compiler's (it compiles the
# component at start, one trace line per branch).
TRACE = "trace,cranelift=info,wasmtime_cranelift=info"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def sign_in(browser: webdriver.Chrome, url: str, password: str, username: str | None = None) -> str:
    """Opens the link, fills the form as a person would and returns the page's text after sending it."""
    for attempt in range(3):
        # chromium now and then reports a node of the page it just left; filling the form again is
        # harmless, sending it twice would not be, so only the filling is retried.
        try:
            browser.get(url)
            WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.ID, "password")))
            if username is not None:
                field = browser.find_element(By.ID, "username")
                field.clear()
                field.send_keys(username)
            browser.find_element(By.ID, "password").send_keys(password)
            form_page = browser.find_element(By.TAG_NAME, "html")
            break
        except WebDriverException:
            if attempt == 2:
                raise
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(expected_conditions.staleness_of(form_page))
    return browser.find_element(By.TAG_NAME, "body").text


def page_text(browser: webdriver.Chrome) -> str:
    """The page's text, or nothing while a navigation replaces the page under the read."""
    try:
        return browser.find_element(By.TAG_NAME, "body").text
    except StaleElementReferenceException:
        return ""


def forged_post(url: str, page: str) -> int:
    """Posts the form with the page's CSRF field but without its cookie, as another site would."""
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    data = urllib.parse.urlencode({"csrf": csrf, "username": "admin", "password": "123123"}).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"content-type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class Elicitations:
    """The client's elicitation callback: records each request and accepts it, as a user who agrees
    to open the link does; the test then opens it in the browser."""

    def __init__(self) -> None:
        self.requests: list[types.ElicitRequestURLParams] = []
        self.send, self.receive = anyio.create_memory_object_stream[str](10)

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams), params
        self.requests.append(params)
        await self.send.send(params.url)
        return types.ElicitResult(action="accept")


async def stdio_client_with_capture(
    simulator: Simulator, cache_dir: Path, workdir: Path, elicitations: Elicitations, mode: str, **extra: str
):
    """A client over stdio whose whole MCP stream (both directions) and stderr are written to files."""
    streams = {name: workdir / f"{name}.log" for name in ("to-server", "from-server", "stderr")}
    command = (
        f"tee {streams['to-server']} | {TAIGA_MCP} 2>{streams['stderr']} | tee {streams['from-server']}"
    )
    params = StdioServerParameters(command="/bin/sh", args=["-c", command],
                                   env=server_env(simulator, cache_dir, LOG_LEVEL=TRACE, **extra))
    return Client(stdio_client(params), elicitation_callback=elicitations, mode=mode), streams


@pytest.mark.parametrize("mode, version", [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_a_browser_sign_in_completes_the_login_call_and_the_password_goes_nowhere_else(
    simulator: Simulator, cache_dir: Path, tmp_path: Path, browser: webdriver.Chrome, mode: str, version: str
) -> None:
    register(simulator, *FRANK)
    admin = free_port()
    elicitations = Elicitations()
    client, streams = await stdio_client_with_capture(
        simulator, cache_dir, tmp_path, elicitations, mode, TAIGA_ADMIN_LISTEN=f"127.0.0.1:{admin}"
    )
    async with client:
        assert client.protocol_version == version
        async with anyio.create_task_group() as group:
            results: list[Any] = []

            async def login() -> None:
                results.append(await client.call_tool("login", {"username": "frank"}))

            group.start_soon(login)
            url = await elicitations.receive.receive()
            assert url.startswith("http://127.0.0.1:") and "/sign-in/" in url
            browser.get(url)
            assert browser.title == "Sign in to Taiga"
            assert browser.find_element(By.ID, "username").get_attribute("value") == "frank"
            # A wrong password: the page says so and the call goes on waiting.
            page = await anyio.to_thread.run_sync(sign_in, browser, url, "not-the-password")
            assert "Taiga refused the username or password." in page
            assert not results
            page = await anyio.to_thread.run_sync(sign_in, browser, url, FRANK[1])
            assert SIGNED_IN in page and "frank" in page
        result = results[0]
        assert not result.is_error, result.structured_content
        session = body(result)
        assert session["username"] == "frank" and len(session["session_id"]) == 36
        assert session["session_id"] not in browser.page_source
        status = await client.call_tool("session_status", {"session_id": session["session_id"]})
        assert body(status)["username"] == "frank"
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as response:
            metrics = response.read().decode()
    # The link worked once: over stdio its loopback listener closed with the sign-in (RFC 8252).
    with pytest.raises(WebDriverException, match="ERR_CONNECTION_REFUSED"):
        browser.get(url)
    assert elicitations.requests[0].message and elicitations.requests[0].elicitation_id
    sent = streams["from-server"].read_text()
    if version == "2025-11-25":
        assert '"method":"elicitation/create"' in sent and '"mode":"url"' in sent
        assert '"method":"notifications/elicitation/complete"' in sent
    else:
        assert '"resultType":"input_required"' in sent and '"mode":"url"' in sent
    logs = streams["stderr"].read_text()
    assert "TRACE" in logs or "DEBUG" in logs, "logs were captured at trace level"
    assert 'tool="login"' in logs or "tool=login" in logs
    for text in (sent, streams["to-server"].read_text(), logs, metrics):
        assert FRANK[1] not in text


class HeldElicitations(Elicitations):
    """Accepts the first link at once and the second only when `release` is set: a user who has
    not yet agreed to open it while another sign-in finishes."""

    def __init__(self) -> None:
        super().__init__()
        self.release = anyio.Event()

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        result = await super().__call__(context, params)
        if len(self.requests) > 1:
            await self.release.wait()
        return result


@pytest.mark.parametrize("mode, version", [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_over_stdio_a_link_keeps_its_page_while_another_sign_in_ends(
    simulator: Simulator, cache_dir: Path, browser: webdriver.Chrome, mode: str, version: str
) -> None:
    register(simulator, *FRANK)
    elicitations = HeldElicitations()
    params = StdioServerParameters(command=str(TAIGA_MCP), env=server_env(simulator, cache_dir))
    async with Client(stdio_client(params), elicitation_callback=elicitations, mode=mode) as client:
        assert client.protocol_version == version
        results: dict[str, Any] = {}
        async with anyio.create_task_group() as group:

            async def login(username: str) -> None:
                results[username] = await client.call_tool("login", {"username": username})

            group.start_soon(login, "frank")
            first = await elicitations.receive.receive()
            group.start_soon(login, "admin")
            second = await elicitations.receive.receive()
            assert SIGNED_IN in await anyio.to_thread.run_sync(sign_in, browser, first, FRANK[1])
            with anyio.fail_after(30):
                while "frank" not in results:
                    await anyio.sleep(0.05)
            # The second link was handed out before the first sign-in ended: its page is still served.
            elicitations.release.set()
            assert SIGNED_IN in await anyio.to_thread.run_sync(sign_in, browser, second, "123123")
        assert body(results["frank"])["username"] == "frank"
        assert body(results["admin"])["username"] == "admin"
        # No link left open: the listener closed while the server runs on.
        with pytest.raises(WebDriverException, match="ERR_CONNECTION_REFUSED"):
            browser.get(second)
        assert not (await client.call_tool("session_status", {"session_id": body(results["admin"])["session_id"]})).is_error


async def test_an_expired_link_ends_the_call_and_says_so(
    simulator: Simulator, cache_dir: Path, tmp_path: Path, browser: webdriver.Chrome
) -> None:
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, SIGN_IN_LINK_SECONDS="2")
        try:
            elicitations = Elicitations()
            async with Client(streamable_http_client(f"{server.base}/mcp"), elicitation_callback=elicitations) as client:
                async with anyio.create_task_group() as group:
                    results: list[Any] = []

                    async def login() -> None:
                        results.append(await client.call_tool("login", {}))

                    group.start_soon(login)
                    url = await elicitations.receive.receive()
                    await anyio.sleep(3)
                    browser.get(url)
                    assert "expired or was already used" in browser.find_element(By.TAG_NAME, "body").text
                error = body(results[0])
                assert results[0].is_error and error["code"] == "TIMEOUT"
                assert "call login again" in error["message"]
        finally:
            server.stop()


async def test_a_client_that_cannot_open_links_is_told_what_to_do(simulator: Simulator, cache_dir: Path) -> None:
    params = StdioServerParameters(command=str(TAIGA_MCP), env=server_env(simulator, cache_dir))
    async with Client(stdio_client(params)) as client:
        result = await client.call_tool("login", {"username": "admin"})
    error = body(result)
    assert result.is_error and error["code"] == "INVALID_INPUT" and error["details"]["field"] == "password"
    assert "URL elicitation" in error["message"] and "TAIGA_USERNAME" in error["message"]


async def test_a_link_signs_in_only_the_client_that_asked(
    simulator: Simulator, cache_dir: Path, tmp_path: Path, browser: webdriver.Chrome
) -> None:
    """Two MCP clients of one shared server each ask for a link: signing in on one's link completes
    that client's call only; the other's still waits, its own link still works, and no page shows
    a session id."""
    register(simulator, *FRANK)
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, LOG_LEVEL=TRACE)
        try:
            first, second = Elicitations(), Elicitations()
            url = f"{server.base}/mcp"
            async with (
                Client(streamable_http_client(url), elicitation_callback=first) as alice,
                Client(streamable_http_client(url), elicitation_callback=second) as bob,
            ):
                results: dict[str, Any] = {}
                async with anyio.create_task_group() as group:
                    async def login(name: str, client: Client) -> None:
                        results[name] = await client.call_tool("login", {})

                    group.start_soon(login, "alice", alice)
                    first_url = await first.receive.receive()
                    group.start_soon(login, "bob", bob)
                    second_url = await second.receive.receive()
                    assert first_url != second_url and first_url.startswith(server.base + "/sign-in/")
                    page = await anyio.to_thread.run_sync(sign_in, browser, first_url, FRANK[1], "frank")
                    assert SIGNED_IN in page
                    await anyio.sleep(1)
                    assert "alice" in results and "bob" not in results
                    alice_session = body(results["alice"])["session_id"]
                    browser.get(second_url)
                    assert alice_session not in browser.page_source
                    # A post from anywhere but the link's own page (no CSRF cookie) is refused.
                    assert forged_post(second_url, browser.page_source) == 403
                    assert "bob" not in results
                    page = await anyio.to_thread.run_sync(sign_in, browser, second_url, "123123", "admin")
                    assert SIGNED_IN in page
                # A used link shows that it is used.
                browser.get(first_url)
                assert "expired or was already used" in browser.find_element(By.TAG_NAME, "body").text
                assert body(results["alice"])["username"] == "frank"
                assert body(results["bob"])["username"] == "admin"
                assert body(results["bob"])["session_id"] != alice_session
        finally:
            server.stop()
    assert FRANK[1] not in (tmp_path / "server.log").read_text()
