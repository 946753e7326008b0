"""What a hostile client sends cannot grow or break `/metrics`, nor forge or colour log lines."""

from __future__ import annotations

import http.client
import json
import random
import re
import subprocess
from pathlib import Path

import pytest
from mcp import Client, MCPError, StdioServerParameters, stdio_client
from prometheus_client.parser import text_string_to_metric_families

from conftest import TAIGA_MCP, HttpServer, Simulator, server_env

pytestmark = pytest.mark.anyio

HOSTILE_NAMES = [
    'x"} 1\nforged_total{a="b"} 9\n',
    "login\n",
    "\x1b[31mred\x1b[0m",
    "tool\\",
    "\u202eevil",
    "a" * 5000,
    "",
    "{}",
    "list_projects ",
]


def hostile_name(rng: random.Random, i: int) -> str:
    if i % 10 < len(HOSTILE_NAMES) and i < 100:
        return HOSTILE_NAMES[i % 10]
    alphabet = 'abc_"\\\n{}=,\x00\x1b é🦀'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))


def test_hostile_tool_names_leave_metrics_bounded_and_parseable(simulator: Simulator, cache_dir: Path) -> None:
    server = HttpServer(simulator, cache_dir, HTTP_STATELESS="true")
    try:
        rng = random.Random(17)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
                   "mcp-protocol-version": "2025-06-18"}
        calls = 10_000
        for i in range(calls):
            name = "session_status" if i % 1000 == 0 else hostile_name(rng, i)
            body = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                    "params": {"name": name, "arguments": {"session_id": "00000000-0000-4000-8000-000000000000"}}}
            connection.request("POST", "/mcp", json.dumps(body), headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200, answer
            if name == "session_status":
                assert "result" in answer, answer
            else:
                assert answer["error"]["code"] == -32602, answer
        connection.close()
        status, text = server.get("/metrics")
        assert status == 200
    finally:
        server.stop()
    families = list(text_string_to_metric_families(text))
    samples = [sample for family in families for sample in family.samples]
    assert len(samples) < 200, len(samples)
    tools = {sample.labels["tool"] for sample in samples if "tool" in sample.labels}
    assert tools == {"session_status"}, tools
    by_name = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value for sample in samples}
    assert by_name[("taiga_mcp_unknown_tool_calls_total", (("tenant", "default"),))] == calls - calls // 1000
    ran = by_name[("taiga_mcp_tool_calls_total", (("outcome", "SESSION_INVALID"), ("tenant", "default"), ("tool", "session_status")))]
    assert ran == calls // 1000
    assert not any(family.name.startswith("forged") for family in families)


FORGED = "2026-01-01T00:00:00.000000Z  INFO taiga_mcp::audit: forged"


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_client_text_cannot_forge_or_colour_log_lines(
    simulator: Simulator, cache_dir: Path, tmp_path: Path, log_format: str
) -> None:
    # Compile the component into the cache first (the server exits at once, stdin being empty): at
    # trace level a compilation logs for minutes.
    subprocess.run([str(TAIGA_MCP)], env=server_env(simulator, cache_dir), stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=120)
    errlog = tmp_path / "stderr.log"
    env = server_env(simulator, cache_dir, LOG_LEVEL="trace", LOG_FORMAT=log_format)
    with errlog.open("w") as sink:
        async with Client(stdio_client(StdioServerParameters(command=str(TAIGA_MCP), env=env), errlog=sink)) as client:
            # The audit line shows the first 8 characters of the session id: make them hostile.
            for session in ["\x1b[2J\nab", f"a\n{FORGED}"]:
                result = await client.call_tool("list_projects", {"session_id": session})
                assert result.is_error
            for name in [f"x\n{FORGED}", "\x1b[31mred", "list_projects\r\n"]:
                with pytest.raises(MCPError):
                    await client.call_tool(name, {})
            await client.call_tool("login", {"username": f"evil\n{FORGED}\x1b[0m", "password": "x\n\x1b"})
    raw = errlog.read_bytes()
    assert b"\x1b" not in raw, "a terminal escape reached the log"
    lines = raw.decode().splitlines()
    assert sum("tool call" in line for line in lines) >= 3, "the audit lines were written"
    for line in lines:
        if log_format == "json":
            json.loads(line)
        else:
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ", line), f"not a log line: {line!r}"
        assert not line.startswith(FORGED[:30]), line
