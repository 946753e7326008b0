"""Multi-tenant hosting: API keys (401 without one), sessions, hosts, limits and quotas isolated per
tenant, tenant labels in metrics and the audit log, and reloading the tenants file on SIGHUP."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest
from mcp import Client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from conftest import TAIGA_MCP, HttpServer, Simulator, call_error, call_ok, server_env

pytestmark = pytest.mark.anyio

ADMIN = {"username": "admin", "password": "123123"}
KEYS = {
    "acme": "acme-4f8c2d1e9b7a6350c4e2f1a8d9b7c6e5",
    "globex": "globex-0a9b8c7d6e5f40312a3b4c5d6e7f8091",
    "initech": "initech-5e6f7a8b9c0d1e2f3a4b5c6d7e8f9012",
}
FLOOD = Path(__file__).with_name("flood.py")


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def tenants_file(sim_a: Simulator, sim_b: Simulator, extra: str = "") -> str:
    return f"""
[[tenant]]
id = "acme"
api_key_sha256 = "{sha256(KEYS['acme'])}"
taiga_api_url = "{sim_a.url}"
calls_per_minute = 120
max_concurrent_calls = 1

[[tenant]]
id = "globex"
api_key_sha256 = "{sha256(KEYS['globex'])}"
taiga_api_url = "{sim_b.url}"
namespace = "globex-sessions"

[[tenant]]
id = "initech"
api_key_sha256 = "{sha256(KEYS['initech'])}"
taiga_api_url = "{sim_a.url}"
calls_per_minute = 4
call_timeout_seconds = 1
{extra}"""


@pytest.fixture
def sim_b() -> Iterator[Simulator]:
    sim = Simulator()
    yield sim
    sim.stop()


class Deployment:
    """A shared `taiga-mcp` with three tenants over two simulators, logging JSON to a file."""

    def __init__(self, sim_a: Simulator, sim_b: Simulator, cache_dir: Path, workdir: Path, **extra: str) -> None:
        self.sim_a, self.sim_b = sim_a, sim_b
        self.tenants = workdir / "tenants.toml"
        self.tenants.write_text(tenants_file(sim_a, sim_b))
        self.log_path = workdir / "server.log"
        self.log = self.log_path.open("w")
        self.server = HttpServer(
            sim_a, cache_dir, errlog=self.log, TAIGA_MCP_TENANTS=str(self.tenants), LOG_FORMAT="json", **extra
        )
        self.url = f"{self.server.base}/mcp"

    @contextlib.asynccontextmanager
    async def client(self, tenant: str) -> AsyncIterator[Client]:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {KEYS[tenant]}"})
        async with http, Client(streamable_http_client(self.url, http_client=http)) as client:
            yield client

    def audit(self) -> list[dict[str, Any]]:
        self.log.flush()
        lines = [json.loads(line) for line in self.log_path.read_text().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("target") == "taiga_mcp::audit"]

    def hangup(self) -> None:
        self.server.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)

    def stop(self) -> None:
        self.server.stop()
        self.log.close()


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest, simulator: Simulator, sim_b: Simulator, cache_dir: Path, tmp_path: Path
) -> Iterator[Deployment]:
    shared = Deployment(simulator, sim_b, cache_dir, tmp_path, **getattr(request, "param", {}))
    yield shared
    shared.stop()


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}}


def raw(url: str, method: str, authorization: str | None, session: str | None = None,
        payload: dict[str, Any] | None = None) -> tuple[int, dict[str, str]]:
    """One MCP request by hand: its status and lower-cased headers."""
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
               "mcp-protocol-version": "2025-06-18"}
    if authorization is not None:
        headers["authorization"] = authorization
    if session is not None:
        headers["mcp-session-id"] = session
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status, {name.lower(): value for name, value in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {name.lower(): value for name, value in error.headers.items()}


def bearer(tenant_or_key: str) -> str:
    return f"Bearer {KEYS.get(tenant_or_key, tenant_or_key)}"


# Tenants are isolated with and without MCP sessions (`HTTP_STATELESS`).
BOTH_HTTP_MODES = pytest.mark.parametrize(
    "deployment", [{}, {"HTTP_STATELESS": "true"}], ids=["sessions", "stateless"], indirect=True
)


@BOTH_HTTP_MODES
def test_requests_without_a_tenant_key_get_401_and_reach_nothing(deployment: Deployment) -> None:
    deployment.sim_a.clear_requests()
    status, headers = raw(deployment.url, "POST", None, payload=INITIALIZE)
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="taiga-mcp"'
    for header in (f"Bearer {KEYS['acme']}x", f"Basic {KEYS['acme']}", sha256(KEYS["acme"]), f"Bearer {sha256(KEYS['acme'])}"):
        status, headers = raw(deployment.url, "POST", header, payload=INITIALIZE)
        assert status == 401, header
        assert headers["www-authenticate"] == 'Bearer realm="taiga-mcp", error="invalid_token"'
    assert raw(deployment.url, "POST", bearer("acme"), payload=INITIALIZE)[0] == 200
    assert deployment.sim_a.requests() == []
    assert deployment.audit() == []
    assert deployment.server.get("/healthz") == (200, "ok\n")


@BOTH_HTTP_MODES
async def test_sessions_hosts_and_namespaces_do_not_cross_tenants(deployment: Deployment) -> None:
    async with deployment.client("acme") as acme, deployment.client("globex") as globex:
        acme_session = {"session_id": (await call_ok(acme, "login", ADMIN))["session_id"]}
        globex_session = {"session_id": (await call_ok(globex, "login", ADMIN))["session_id"]}
        assert (await call_ok(acme, "session_status", acme_session))["taiga_url"] == deployment.sim_a.url
        assert (await call_ok(globex, "session_status", globex_session))["taiga_url"] == deployment.sim_b.url
        # A session id is only valid for the tenant that logged in.
        await call_error(globex, "list_projects", acme_session, "SESSION_INVALID")
        await call_error(acme, "list_projects", globex_session, "SESSION_INVALID")
        assert (await call_ok(acme, "logout", globex_session))["logged_out"] is False
        assert (await call_ok(globex, "list_projects", globex_session))["total"] == 3
        # globex may not reach acme's Taiga: refused before any request leaves the bridge.
        deployment.sim_a.clear_requests()
        error = await call_error(globex, "login", {**ADMIN, "host": deployment.sim_a.url}, "HOST_NOT_ALLOWED")
        assert "allow" in error["message"]
        assert deployment.sim_a.requests() == []
    audit = deployment.audit()
    assert {(line["tenant"], line["tool"], line["outcome"]) for line in audit} >= {
        ("acme", "login", "OK"), ("globex", "login", "OK"), ("globex", "list_projects", "SESSION_INVALID"),
        ("acme", "list_projects", "SESSION_INVALID"), ("globex", "login", "HOST_NOT_ALLOWED")}
    _, metrics = deployment.server.get("/metrics")
    assert 'taiga_mcp_tool_calls_total{tenant="globex",tool="login",outcome="HOST_NOT_ALLOWED"} 1' in metrics
    assert 'taiga_mcp_tool_calls_total{tenant="acme",tool="login",outcome="OK"} 1' in metrics
    assert 'taiga_mcp_taiga_requests_total{tenant="globex",status="200"}' in metrics


async def test_one_tenant_s_kept_names_never_answer_another_tenant(deployment: Deployment) -> None:
    # acme and initech share one Taiga, and their callers sign in as the same Taiga user: only the
    # tenant tells their kept project names apart (issue 29).
    def sent() -> list[str]:
        return [f"{request['method']} {request['path']}" for request in deployment.sim_a.requests()]

    async with deployment.client("acme") as acme, deployment.client("initech") as initech:
        at_acme = {"session_id": (await call_ok(acme, "login", ADMIN))["session_id"]}
        project = (await call_ok(acme, "create_project", {**at_acme, "name": "Kept per tenant",
                                                          "description": "names"}))["id"]
        await call_ok(acme, "get_project_metadata", {**at_acme, "project_id": project})
        story = {"project_id": project, "title": "Named", "status": "Ready"}
        deployment.sim_a.clear_requests()
        await call_ok(acme, "create_user_story", {**at_acme, **story})
        assert sent() == ["POST /api/v1/userstories"], "acme's kept names answer acme"

        at_initech = {"session_id": (await call_ok(initech, "login", ADMIN))["session_id"]}
        deployment.sim_a.clear_requests()
        assert (await call_ok(initech, "create_user_story", {**at_initech, **story}))["status"] == "Ready"
        assert sent() == [f"GET /api/v1/projects/{project}", "POST /api/v1/userstories"], \
            "initech reads the names itself"


async def test_call_limits_and_rate_quota_are_per_tenant(deployment: Deployment) -> None:
    async with deployment.client("initech") as initech, deployment.client("acme") as acme:
        initech_session = {"session_id": (await call_ok(initech, "login", ADMIN))["session_id"]}
        acme_session = {"session_id": (await call_ok(acme, "login", ADMIN))["session_id"]}
        # initech's calls have 1 s; acme's have the deployment's 60 s. Same slow Taiga for both.
        deployment.sim_a.inject({"kind": "latency", "ms": 1500}, path_prefix="/api/v1/projects", times=2)
        await call_error(initech, "list_projects", initech_session, "TIMEOUT")
        assert (await call_ok(acme, "list_projects", acme_session))["total"] == 3
        # initech has 4 calls a minute: 2 used above, 2 more, then refused with the quota named.
        await call_ok(initech, "session_status", initech_session)
        await call_ok(initech, "session_status", initech_session)
        error = await call_error(initech, "session_status", initech_session, "RATE_LIMITED")
        assert error["details"]["quota"] == "calls_per_minute"
        assert error["details"]["limit"] == 4
        assert 0 < error["details"]["retry_after_seconds"] <= 15
        assert "initech" in error["message"]
        assert (await call_ok(acme, "session_status", acme_session))["active"] is True
    _, metrics = deployment.server.get("/metrics")
    assert 'taiga_mcp_quota_refusals_total{tenant="initech",quota="calls_per_minute"} 1' in metrics
    assert 'taiga_mcp_tool_calls_total{tenant="initech",tool="list_projects",outcome="TIMEOUT"} 1' in metrics
    refused = [line for line in deployment.audit() if line["outcome"] == "RATE_LIMITED"]
    assert [(line["tenant"], line["quota"]) for line in refused] == [("initech", "calls_per_minute")]


async def latencies(client: Client, arguments: dict[str, Any], count: int) -> list[float]:
    measured = []
    for _ in range(count):
        started = time.perf_counter()
        await call_ok(client, "get_project", arguments)
        measured.append(time.perf_counter() - started)
    return measured


async def test_a_flooding_tenant_is_refused_while_the_others_keep_their_speed(deployment: Deployment) -> None:
    async with deployment.client("acme") as acme, deployment.client("globex") as globex:
        acme_session = (await call_ok(acme, "login", ADMIN))["session_id"]
        globex_session = (await call_ok(globex, "login", ADMIN))["session_id"]
        project = (await call_ok(globex, "list_projects", {"session_id": globex_session}))["items"][0]["id"]
        arguments = {"session_id": globex_session, "project_id": project}
        await latencies(globex, arguments, 10)
        unloaded = statistics.median(await latencies(globex, arguments, 40))
        # The flooding client runs in its own, lower-priority process: the measurement is about the
        # bridge sharing itself fairly, not about two clients fighting over the test machine's CPU.
        flood = subprocess.Popen(
            ["nice", "-n", "10", sys.executable, str(FLOOD), deployment.url, KEYS["acme"], acme_session,
             str(project), "32", "6"],
            stdout=subprocess.PIPE, text=True,
        )
        await asyncio.sleep(1.5)
        loaded = statistics.median(await latencies(globex, arguments, 40))
        output, _ = flood.communicate(timeout=60)
    counts = json.loads(output)
    assert counts["other"] == 0, counts
    # acme's bucket holds 120 calls and refills at 2 a second: over the 6 s flood (plus the client's
    # start-up) at most about 120 + 2 * 10 calls can have been admitted; the rest were refused.
    assert 0 < counts["ok"] <= 140 and counts["rate_limited"] > 0, counts
    assert loaded <= 2 * unloaded, f"globex median {loaded * 1000:.1f} ms under acme's flood, {unloaded * 1000:.1f} ms alone"
    _, metrics = deployment.server.get("/metrics")
    assert 'taiga_mcp_quota_refusals_total{tenant="acme",quota="max_concurrent_calls"}' in metrics
    assert 'taiga_mcp_quota_refusals_total{tenant="globex"' not in metrics


async def test_sighup_reloads_tenants_and_a_broken_file_keeps_the_old_ones(deployment: Deployment) -> None:
    newcomer = "umbrella-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    async with deployment.client("acme") as acme:
        session = {"session_id": (await call_ok(acme, "login", ADMIN))["session_id"]}
        # A call in flight across the reload finishes under the tenant it started with.
        deployment.sim_a.inject({"kind": "latency", "ms": 1500}, path_prefix="/api/v1/projects", times=1)
        in_flight = asyncio.create_task(acme.call_tool("list_projects", session))
        await asyncio.sleep(0.5)
        deployment.tenants.write_text(tenants_file(deployment.sim_a, deployment.sim_b, f"""
[[tenant]]
id = "umbrella"
api_key_sha256 = "{sha256(newcomer)}"
taiga_api_url = "{deployment.sim_b.url}"
"""))
        deployment.hangup()
        result = await in_flight
        assert not result.is_error and result.structured_content["total"] == 3
        assert raw(deployment.url, "POST", bearer(newcomer), payload=INITIALIZE)[0] == 200
        assert (await call_ok(acme, "list_projects", session))["total"] == 3, "sessions survive a reload"

        deployment.tenants.write_text("[[tenant]]\nid = \"acme\"\n")
        deployment.hangup()
        assert raw(deployment.url, "POST", bearer(newcomer), payload=INITIALIZE)[0] == 200
        assert (await call_ok(acme, "list_projects", session))["total"] == 3
    log = deployment.log_path.read_text()
    assert "reloaded the tenants file" in log
    assert "the tenants file was refused" in log


@BOTH_HTTP_MODES
async def test_a_tenant_with_its_own_identity_acts_as_that_user_for_all_its_callers(
    deployment: Deployment, tmp_path: Path
) -> None:
    password = tmp_path / "initech-password"
    password.write_text(ADMIN["password"])
    deployment.tenants.write_text(tenants_file(deployment.sim_a, deployment.sim_b, f"""
taiga_username = "admin"
taiga_password_file = "{password}"
"""))
    deployment.hangup()
    async with deployment.client("initech") as initech, deployment.client("acme") as acme:
        service = {tool.name: tool for tool in (await initech.list_tools()).tools}
        assert "login" not in service
        assert "session_id" not in service["list_projects"].input_schema["properties"]
        assert (await call_ok(initech, "list_projects", {}))["total"] == 3
        assert (await call_ok(initech, "session_status", {}))["username"] == "admin"
        own = {tool.name: tool for tool in (await acme.list_tools()).tools}
        assert "login" in own and "session_id" in own["list_projects"].input_schema["required"]
        await call_error(acme, "list_projects", {}, "INVALID_INPUT")


def test_a_broken_tenants_file_stops_the_server_at_start(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(f'[[tenant]]\nid = "acme"\napi_key_sha256 = "abc"\ntaiga_api_url = "{simulator.url}"\n')
    env = {**os.environ, **server_env(simulator, cache_dir, TAIGA_MCP_TENANTS=str(tenants))}
    done = subprocess.run([str(TAIGA_MCP), "--transport", "http", "--listen", "127.0.0.1:0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "TAIGA_MCP_TENANTS: tenant `acme`: api_key_sha256" in done.stderr


TRAP_COMPONENT = Path(__file__).resolve().parents[2] / "target/component/wasm32-wasip2/release/taiga_trap_component.wasm"


async def test_each_tenant_calls_under_its_own_memory_limit(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    assert TRAP_COMPONENT.exists(), "make build compiles tests/trap-component"
    keys = {"tiny": "tiny-0b1c2d3e4f5a69788796a5b4c3d2e1f0", "roomy": "roomy-f0e1d2c3b4a5968778695a4b3c2d1e0f"}
    tenants = tmp_path / "tenants.toml"
    tenants.write_text("".join(
        f'[[tenant]]\nid = "{tenant}"\napi_key_sha256 = "{sha256(key)}"\ntaiga_api_url = "{simulator.url}"\n'
        f'call_memory_mb = {16 if tenant == "tiny" else 128}\n\n'
        for tenant, key in keys.items()))
    server = HttpServer(simulator, cache_dir, TAIGA_MCP_TENANTS=str(tenants), TAIGA_COMPONENT=str(TRAP_COMPONENT))
    try:
        async def allocate(tenant: str, mebibytes: int) -> Any:
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {keys[tenant]}"})
            async with http, Client(streamable_http_client(f"{server.base}/mcp", http_client=http)) as client:
                return await client.call_tool("allocate", {"mebibytes": mebibytes})

        # 40 MiB: over tiny's 16 MiB limit, within roomy's 128 MiB.
        tiny = await allocate("tiny", 40)
        assert tiny.is_error and tiny.structured_content["code"] == "INTERNAL"
        roomy = await allocate("roomy", 40)
        assert not roomy.is_error and roomy.structured_content == {"ok": True}
        small = await allocate("tiny", 4)
        assert not small.is_error, "the trapped sandbox was discarded; the tenant's next call works"
        _, metrics = server.get("/metrics")
        assert 'taiga_mcp_sandbox_traps_total{tenant="tiny"} 1' in metrics
        assert 'taiga_mcp_sandbox_traps_total{tenant="roomy"}' not in metrics
    finally:
        server.stop()


def test_an_mcp_session_serves_only_the_tenant_that_opened_it(deployment: Deployment) -> None:
    status, headers = raw(deployment.url, "POST", bearer("acme"), payload=INITIALIZE)
    assert status == 200
    session = headers["mcp-session-id"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert raw(deployment.url, "POST", bearer("acme"), session, initialized)[0] == 202
    list_tools = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    # Another tenant's key cannot use, read or close acme's MCP session, even knowing its id.
    assert raw(deployment.url, "POST", bearer("globex"), session, list_tools)[0] == 404
    assert raw(deployment.url, "GET", bearer("globex"), session)[0] == 404
    assert raw(deployment.url, "DELETE", bearer("globex"), session)[0] == 404
    assert raw(deployment.url, "POST", bearer("acme"), session, list_tools)[0] == 200
    # acme closes it; then it is gone for acme too.
    assert raw(deployment.url, "DELETE", bearer("acme"), session)[0] in (200, 202, 204)
    assert raw(deployment.url, "POST", bearer("acme"), session, list_tools)[0] == 404
