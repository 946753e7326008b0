"""Signing in under attack (issue 27), with the real parts: the official MCP Python SDK as the
user's client, a script speaking MCP 2026-07-28 over HTTP as the hostile client of the same
deployment (as the attack run did), Debian's chromium as the user's browser, a real redis-server.

Each test failed on the code before the fix; the module's notes say how."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters, stdio_client, types
from mcp.client.streamable_http import streamable_http_client
from selenium import webdriver
from selenium.webdriver.common.by import By

from conftest import TAIGA_MCP, HttpServer, Simulator, body, register, server_env
from test_redis import Redis, redis  # noqa: F401  (the fixture)
from test_url_sign_in import FRANK, SIGNED_IN, Elicitations, browser, page_text, sign_in  # noqa: F401  (the fixture)

pytestmark = pytest.mark.anyio

META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "mallory", "version": "1.0"},
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}, "url": {}}},
}


def raw_call(server: HttpServer, name: str, arguments: dict[str, Any], forwarded_for: str | None = None,
             **params: Any) -> dict[str, Any]:
    """One 2026-07-28 `tools/call` as a script sends it; the JSON-RPC result (or error)."""
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": name, "arguments": arguments, "_meta": META, **params}}
    headers = {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": name}
    if forwarded_for:
        headers["x-forwarded-for"] = forwarded_for
    with server.open(json.dumps(message).encode(), headers) as response:
        text = response.read().decode()
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        text = [line[5:] for line in text.splitlines() if line.startswith("data:") and line[5:].strip()][-1]
    answer = json.loads(text)
    return answer.get("result", answer)


def tool_error(result: dict[str, Any]) -> dict[str, Any]:
    assert result.get("isError") is True, result
    return result["structuredContent"]


class HeldElicitation(Elicitations):
    """The user's client: it hands the link to the test at once, and accepts (so retries, or starts
    waiting) only when `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = anyio.Event()

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        result = await super().__call__(context, params)
        await self.release.wait()
        return result


@pytest.mark.parametrize("mode, version", [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_another_client_cannot_take_the_users_sign_in(
    simulator: Simulator, cache_dir: Path, tmp_path: Path, browser: webdriver.Chrome, mode: str, version: str
) -> None:
    """Client B of the same deployment (another address behind the trusted proxy) sees the link's
    URL and sends it back, or the store key anyone can derive from it, as `requestState`. Before the
    fix B's retry waited on the link and took the session once the user signed in (A got "link
    expired"); now B gets nothing at once and A gets the session."""
    register(simulator, *FRANK)
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, TRUSTED_PROXIES="127.0.0.1")
        try:
            user = HeldElicitation()
            async with Client(streamable_http_client(f"{server.base}/mcp"), elicitation_callback=user, mode=mode) as alice:
                assert alice.protocol_version == version
                results: dict[str, Any] = {}
                async with anyio.create_task_group() as group:
                    async def login() -> None:
                        results["alice"] = await alice.call_tool("login", {"username": "frank"})

                    group.start_soon(login)
                    url = await user.receive.receive()
                    link_id = url.rsplit("/", 1)[1]
                    key = __import__("hashlib").sha256(link_id.encode()).hexdigest()
                    accept = {"sign_in": {"action": "accept"}}

                    stolen: list[dict[str, Any]] = []

                    async def mallory(state: str) -> None:
                        stolen.append(await anyio.to_thread.run_sync(lambda: raw_call(
                            server, "login", {}, forwarded_for="198.51.100.7",
                            requestState=state, inputResponses=accept)))

                    attempts = [link_id, f"{key}.{'0' * 64}", f"{key}.{link_id}"]
                    for state in attempts:
                        group.start_soon(mallory, state)
                    await anyio.sleep(1)
                    page = await anyio.to_thread.run_sync(sign_in, browser, url, FRANK[1])
                    assert SIGNED_IN in page
                    with anyio.fail_after(20):
                        while len(stolen) < len(attempts):
                            await anyio.sleep(0.05)
                    user.release.set()
                assert not [answer for answer in stolen if "session_id" in json.dumps(answer)], "B took the session"
                for answer in stolen:
                    error = tool_error(answer)
                    assert error["code"] == "TIMEOUT" and "not this client's" in error["message"]
                session = body(results["alice"])
                assert session["username"] == "frank", session
                status = await alice.call_tool("session_status", {"session_id": session["session_id"]})
                assert not status.is_error
        finally:
            server.stop()


async def test_the_claim_is_bound_to_the_caller_that_asked(simulator: Simulator, cache_dir: Path, tmp_path: Path,
                                                           browser: webdriver.Chrome) -> None:
    """Even the real `requestState` is worthless from another address: only the caller that asked
    (and, with MCP sessions, its session) takes the result, once."""
    register(simulator, *FRANK)
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, TRUSTED_PROXIES="127.0.0.1")
        try:
            pending = raw_call(server, "login", {"username": "frank"}, forwarded_for="203.0.113.5")
            assert pending["resultType"] == "input_required", pending
            state = pending["requestState"]
            url = pending["inputRequests"]["sign_in"]["params"]["url"]
            assert url.rsplit("/", 1)[1] not in state, "the retry's secret is not the page's id"
            assert SIGNED_IN in await anyio.to_thread.run_sync(sign_in, browser, url, FRANK[1])
            accept = {"sign_in": {"action": "accept"}}
            other = raw_call(server, "login", {}, forwarded_for="198.51.100.7", requestState=state, inputResponses=accept)
            assert tool_error(other)["code"] == "TIMEOUT"
            mine = raw_call(server, "login", {}, forwarded_for="203.0.113.5", requestState=state, inputResponses=accept)
            assert mine["structuredContent"]["username"] == "frank", mine
            again = raw_call(server, "login", {}, forwarded_for="203.0.113.5", requestState=state, inputResponses=accept)
            assert tool_error(again)["code"] == "TIMEOUT", "handed out once"
        finally:
            server.stop()


def metrics(server: HttpServer) -> str:
    status, text = server.get("/metrics")
    assert status == 200
    return text


async def test_links_are_checked_capped_counted_and_audited(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    """Before the fix, 1,000 links of 64 KB each were kept from one client, none counted; a host
    that was no Taiga was shown on the page."""
    log = tmp_path / "server.log"
    with log.open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, TRUSTED_PROXIES="127.0.0.1",
                            SIGN_IN_LINKS_PER_CALLER="2", SIGN_IN_LINKS_PER_TENANT="3")
        try:
            huge = raw_call(server, "login", {"username": "x" * 32_000}, forwarded_for="198.51.100.1")
            assert tool_error(huge)["details"]["field"] == "username"
            phishing = raw_call(server, "login", {"host": "https://sso.corp.example"}, forwarded_for="198.51.100.1")
            error = tool_error(phishing)
            assert error["code"] == "HOST_NOT_ALLOWED" and error["details"]["field"] == "host"
            for _ in range(2):
                assert raw_call(server, "login", {}, forwarded_for="198.51.100.1")["resultType"] == "input_required"
            refused = tool_error(raw_call(server, "login", {}, forwarded_for="198.51.100.1"))
            assert refused["code"] == "RATE_LIMITED" and refused["details"]["quota"] == "sign_in_links_per_caller"
            assert raw_call(server, "login", {}, forwarded_for="198.51.100.2")["resultType"] == "input_required"
            refused = tool_error(raw_call(server, "login", {}, forwarded_for="198.51.100.3"))
            assert refused["details"] == {"quota": "sign_in_links_per_tenant", "limit": 3}
            text = metrics(server)
            assert 'taiga_mcp_sign_in_links_total{tenant="default"} 3' in text
            assert 'taiga_mcp_quota_refusals_total{tenant="default",quota="sign_in_links_per_caller"} 1' in text
        finally:
            server.stop()
    audit = log.read_text()
    assert audit.count("sign-in link opened") == 3 and audit.count("sign-in link refused") == 2


async def test_link_calls_pass_the_tenants_quota(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    """A tenant limited to 3 calls a minute made 3,000 links before the fix."""
    key = "k-quota-tenant"
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(
        f'[[tenant]]\nid = "acme"\napi_key_sha256 = "{__import__("hashlib").sha256(key.encode()).hexdigest()}"\n'
        f'taiga_api_url = "{simulator.url}"\ncalls_per_minute = 3\n')
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, TAIGA_MCP_TENANTS=str(tenants))
        try:
            auth = {"authorization": f"Bearer {key}"}
            original = server.open
            server.open = lambda data, headers: original(data, {**headers, **auth})  # type: ignore[method-assign]
            answers = [raw_call(server, "login", {}) for _ in range(4)]
            assert [answer.get("resultType") for answer in answers[:3]] == ["input_required"] * 3
            assert tool_error(answers[3])["details"]["quota"] == "calls_per_minute"
        finally:
            server.stop()


async def test_the_identity_signs_in_once_for_a_stampede(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    """Ten calls at once on a fresh server, and again after Taiga revoked the token: before the fix
    each call signed in on its own and six of ten answered RATE_LIMITED."""
    # Taiga answers sign-ins slowly: the server's own check at start is still signing in when the
    # first calls arrive.
    simulator.inject({"kind": "latency", "ms": 3000}, path_prefix="/api/v1/auth", times=1)
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, TAIGA_USERNAME="admin", TAIGA_PASSWORD="123123",
                            LOGIN_RATE_LIMIT="3")
        try:
            async with Client(streamable_http_client(f"{server.base}/mcp")) as client:
                for round_ in ("fresh", "revoked"):
                    results: list[Any] = []
                    async with anyio.create_task_group() as group:
                        for _ in range(10):
                            async def one() -> None:
                                results.append(await client.call_tool("list_projects", {}))
                            group.start_soon(one)
                    assert [result.is_error for result in results] == [False] * 10, [
                        result.structured_content for result in results if result.is_error]
                    signing = [request["path"] for request in simulator.requests()
                               if request["path"].rstrip("/").endswith(("/auth", "/auth/refresh"))]
                    assert len(signing) == 1, (round_, signing)
                    simulator.clear_requests()
                    simulator.control("revoke-tokens")
        finally:
            server.stop()


async def test_no_caller_can_use_the_identity_session(simulator: Simulator, cache_dir: Path, tmp_path: Path,
                                                      redis: Redis) -> None:  # noqa: F811
    """Two deployments on one Redis, one acting as its own Taiga user. Before the fix the identity's
    session id was a digest anyone could compute, and a caller of the other deployment used it."""
    identity = {"TAIGA_USERNAME": "admin", "TAIGA_PASSWORD": "123123", "SESSION_STORE": redis.url}
    params = StdioServerParameters(command=str(TAIGA_MCP), env=server_env(simulator, cache_dir, **identity))
    async with Client(stdio_client(params)) as own:
        assert not (await own.call_tool("list_projects", {})).is_error
    keys = subprocess.run(["redis-cli", "-p", str(redis.port), "--scan", "--pattern", "taiga-mcp:default:session:*"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert len(keys) == 1, keys
    stolen = keys[0].rsplit("session:", 1)[1]
    others = StdioServerParameters(command=str(TAIGA_MCP),
                                   env=server_env(simulator, cache_dir, SESSION_STORE=redis.url))
    async with Client(stdio_client(others)) as other:
        for tool in ("list_projects", "session_status"):
            result = await other.call_tool(tool, {"session_id": stolen})
            assert result.is_error and body(result)["code"] == "SESSION_INVALID", body(result)
        assert body(await other.call_tool("logout", {"session_id": stolen}))["logged_out"] is False
    async with Client(stdio_client(params)) as own:
        named = await own.call_tool("list_projects", {"session_id": stolen})
        assert named.is_error and body(named)["code"] == "SESSION_INVALID"


async def test_wrong_passwords_count_against_the_user_by_any_of_its_names(
    simulator: Simulator, cache_dir: Path, tmp_path: Path
) -> None:
    """Taiga signs `admin` in as `admın` (dotless ı), `ADMIN` or its email; before the fix each name
    had a counter of its own, so an attacker got three times the guesses."""
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, TRUSTED_PROXIES="127.0.0.1", LOGIN_RATE_LIMIT="3")
        try:
            assert "session_id" in raw_call(server, "login", {"username": "admin", "password": "123123"},
                                            forwarded_for="198.51.100.1")["structuredContent"]
            codes = [tool_error(raw_call(server, "login", {"username": name, "password": "guess"},
                                         forwarded_for=f"198.51.100.{index + 2}"))["code"]
                     for index, name in enumerate(["admın", "Admin@Admin.com", "ADMIN"])]
            assert codes == ["INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "RATE_LIMITED"], codes
        finally:
            server.stop()


class Declining(Elicitations):
    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        await super().__call__(context, params)
        return types.ElicitResult(action="decline")


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
    """Status, headers and text of one request to the page (errors included)."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def form_post(url: str, password: str) -> tuple[int, Any, str]:
    """Opens the page, then posts its form with its own cookie, as the browser would."""
    status, headers, page = fetch(url)
    assert status == 200, page
    cookie = headers["set-cookie"].split(";", 1)[0]
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    data = urllib.parse.urlencode({"csrf": csrf, "username": "frank", "password": password}).encode()
    return fetch(url, data, {"content-type": "application/x-www-form-urlencoded", "cookie": cookie})


async def test_a_declined_link_is_gone_at_once(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    """Before the fix a declined link kept serving its page for its whole lifetime."""
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog)
        try:
            declining = Declining()
            async with Client(streamable_http_client(f"{server.base}/mcp"), elicitation_callback=declining,
                              mode="legacy") as client:
                result = await client.call_tool("login", {})
            assert result.is_error and "did not open the sign-in page" in body(result)["message"]
            assert fetch(declining.requests[0].url)[0] == 410
            pending = raw_call(server, "login", {})
            url = pending["inputRequests"]["sign_in"]["params"]["url"]
            assert fetch(url)[0] == 200
            declined = raw_call(server, "login", {}, requestState=pending["requestState"],
                                inputResponses={"sign_in": {"action": "decline"}})
            assert tool_error(declined)["code"] == "INVALID_INPUT"
            assert fetch(url)[0] == 410
        finally:
            server.stop()


async def test_the_page_answers_as_a_sign_in_page_should(simulator: Simulator, cache_dir: Path, tmp_path: Path,
                                                         browser: webdriver.Chrome) -> None:
    """One CSRF cookie per link (before: a second open link broke the first form with a 403); the
    security headers on the framework's refusals too; only its own Host names (DNS rebinding);
    400 for refused credentials and 429 for the rate limit, not a bare 401."""
    register(simulator, *FRANK)
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, LOGIN_RATE_LIMIT="3")
        try:
            first, second = (raw_call(server, "login", {})["inputRequests"]["sign_in"]["params"]["url"]
                             for _ in range(2))
            browser.get(first)
            tab = browser.current_window_handle
            browser.switch_to.new_window("tab")
            browser.get(second)
            browser.switch_to.window(tab)
            browser.find_element(By.ID, "username").send_keys("frank")
            browser.find_element(By.ID, "password").send_keys(FRANK[1])
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            with anyio.fail_after(20):
                while SIGNED_IN not in page_text(browser):
                    await anyio.sleep(0.1)
            status, headers, _ = fetch(second, b"not a form", {"content-type": "text/plain"})
            assert status == 415
            assert headers["content-security-policy"].startswith("default-src 'none'")
            assert headers["x-content-type-options"] == "nosniff"
            status, _, _ = fetch(second, headers={"host": f"rebound.example:{server.port}"})
            assert status == 421
            status, _, page = form_post(second, "wrong")
            assert status == 400 and "Taiga refused the username or password." in page
            status, _, _ = form_post(second, "wrong again")
            assert status == 400
            status, headers, page = form_post(second, "and again")
            assert status == 429 and "too many login attempts" in page, (status, page)
        finally:
            server.stop()


def test_a_page_for_passwords_is_never_served_in_clear_elsewhere(simulator: Simulator, cache_dir: Path) -> None:
    """Before the fix a plain-HTTP public URL was taken as it was, and `--listen 0.0.0.0` handed
    out links to `http://0.0.0.0:...`."""
    env = {**server_env(simulator, cache_dir), "TAIGA_MCP_PUBLIC_URL": "http://mcp.example.com"}
    done = subprocess.run([str(TAIGA_MCP), "--transport", "http", "--listen", "127.0.0.1:0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "TAIGA_MCP_PUBLIC_URL" in done.stderr and "ALLOW_HTTP_SIGN_IN" in done.stderr


async def test_with_no_usable_address_login_asks_for_the_password(simulator: Simulator, cache_dir: Path,
                                                                  tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with log.open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog)
        server.stop()
        port = server.port
        env = {**server_env(simulator, cache_dir)}
        process = subprocess.Popen([str(TAIGA_MCP), "--transport", "http", "--listen", f"0.0.0.0:{port}"],
                                   env={**__import__("os").environ, **env}, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=errlog)
        try:
            server.process = process
            deadline = anyio.current_time() + 60
            while True:
                try:
                    if server.get("/healthz")[0] == 200:
                        break
                except OSError:
                    assert anyio.current_time() < deadline
                    await anyio.sleep(0.1)
            answer = raw_call(server, "login", {"username": "frank"})
            error = tool_error(answer)
            assert error["details"]["field"] == "password", error
        finally:
            server.stop()
    assert "sign-in by page is off" in log.read_text()


class Silent(Elicitations):
    """A client that never answers `elicitation/create`."""

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        await super().__call__(context, params)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


async def test_a_client_that_never_answers_is_not_waited_for_past_the_link(
    simulator: Simulator, cache_dir: Path, tmp_path: Path
) -> None:
    """Before the fix `login` waited for the answer to `elicitation/create` without end."""
    with (tmp_path / "server.log").open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, SIGN_IN_LINK_SECONDS="2")
        try:
            silent = Silent()
            async with Client(streamable_http_client(f"{server.base}/mcp"), elicitation_callback=silent,
                              mode="legacy") as client:
                with anyio.fail_after(20):
                    result = await client.call_tool("login", {})
            assert result.is_error and "did not open the sign-in page" in body(result)["message"]
            assert fetch(silent.requests[0].url)[0] == 410
        finally:
            server.stop()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_cancelled_login_stops_waiting_and_closes_its_link(
    simulator: Simulator, cache_dir: Path, tmp_path: Path, mode: str
) -> None:
    """Before the fix a cancelled `login` kept polling, and its link kept serving its page."""
    log = tmp_path / "server.log"
    with log.open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog)
        try:
            user = Elicitations()
            async with Client(streamable_http_client(f"{server.base}/mcp"), elicitation_callback=user,
                              mode=mode) as client:
                async with anyio.create_task_group() as group:
                    group.start_soon(client.call_tool, "login", {})
                    url = await user.receive.receive()
                    await anyio.sleep(1)
                    assert fetch(url)[0] == 200
                    group.cancel_scope.cancel()
                with anyio.fail_after(10):
                    while fetch(url)[0] != 410:
                        await anyio.sleep(0.2)
        finally:
            server.stop()
