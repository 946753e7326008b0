"""A cancelled call stops at once (issue 28): it gives back its sandbox slot and its tenant's
concurrency permit instead of holding them until `CALL_TIMEOUT`."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from conftest import HttpServer, Simulator, call_ok

pytestmark = pytest.mark.anyio

KEY = "cancel-tenant-key-0123456789abcdef"


async def test_a_cancelled_call_frees_its_tenants_permit(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(
        f'[[tenant]]\nid = "acme"\napi_key_sha256 = "{hashlib.sha256(KEY.encode()).hexdigest()}"\n'
        f'taiga_api_url = "{simulator.url}"\nmax_concurrent_calls = 1\n')
    log = tmp_path / "server.log"
    with log.open("w") as errlog:
        server = HttpServer(simulator, cache_dir, errlog=errlog, TAIGA_MCP_TENANTS=str(tenants), CALL_TIMEOUT="30")
        try:
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {KEY}"})
            async with http, Client(streamable_http_client(f"{server.base}/mcp", http_client=http)) as client:
                session = {"session_id": (await call_ok(client, "login", {"username": "admin", "password": "123123"}))["session_id"]}
                # Taiga takes 20 s to answer: the call would hold the tenant's one permit that long.
                simulator.inject({"kind": "latency", "ms": 20000}, path_prefix="/api/v1/projects", times=1)
                async with anyio.create_task_group() as group:
                    group.start_soon(client.call_tool, "list_projects", session)
                    await anyio.sleep(1)
                    group.cancel_scope.cancel()
                started = time.monotonic()
                with anyio.fail_after(15):
                    while True:
                        result = await client.call_tool("session_status", session)
                        if not result.is_error:
                            break
                        assert result.structured_content["details"]["quota"] == "max_concurrent_calls"
                        await anyio.sleep(0.2)
                assert time.monotonic() - started < 5, "the permit came back with the cancellation"
        finally:
            server.stop()
    assert 'outcome="CANCELLED"' in log.read_text() or "outcome=CANCELLED" in log.read_text()
