"""What a user should know about a call beside its result (a token renewed, a list capped by
Taiga) comes as `notifications/message`, as the connection's logging level allows (2025-11-25:
`logging/setLevel`; 2026-07-28: the request's `io.modelcontextprotocol/logLevel`), never a secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters, stdio_client

from conftest import TAIGA_MCP, Simulator, call_ok, server_env

pytestmark = pytest.mark.anyio


class Notices:
    def __init__(self) -> None:
        self.received: list[Any] = []

    async def __call__(self, params: Any) -> None:
        self.received.append(params)

    def take(self) -> list[tuple[str, str]]:
        taken = [(str(p.level), str(p.data)) for p in self.received]
        self.received.clear()
        return taken


def client(simulator: Simulator, cache_dir: Path, notices: Notices, mode: str, log_level: str | None = None) -> Client:
    """A client of a server signed in as the demo user, whose token Taiga renews when revoked."""
    env = server_env(simulator, cache_dir, TAIGA_USERNAME="admin", TAIGA_PASSWORD="123123")
    params = StdioServerParameters(command=str(TAIGA_MCP), env=env)
    return Client(stdio_client(params), logging_callback=notices, mode=mode, log_level=log_level)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_renewed_token_and_a_capped_list_are_told_as_the_level_allows(
        simulator: Simulator, cache_dir: Path, mode: str) -> None:
    notices = Notices()
    async with client(simulator, cache_dir, notices, mode, log_level="info") as mcp:
        async def s(tool: str, **args: Any) -> dict[str, Any]:
            return await call_ok(mcp, tool, args)

        await s("list_projects")
        if mode == "legacy":
            await mcp.set_logging_level("info")
        simulator.control("revoke-tokens")
        await s("list_projects")
        renewed = notices.take()
        assert renewed == [("info", "Taiga's access token had expired and was renewed with the session's refresh "
                                    "token")], renewed
        for batch in range(11):
            await s("bulk_create_user_stories", project_id=1, titles=[f"Story {batch}-{n}" for n in range(100)])
        listed = await s("list_user_stories", project_id=1, all=True)
        assert listed["truncated"] is True and len(listed["items"]) == 1000
        assert ("warning", "user stories of project 1: the list stopped at 1000 items; Taiga has more") in notices.take()
        if mode == "legacy":
            # A higher level silences the renewal, never a warning.
            await mcp.set_logging_level("warning")
            simulator.control("revoke-tokens")
            await s("list_projects")
            assert notices.take() == []


async def test_a_2026_request_without_a_log_level_gets_no_notices(simulator: Simulator, cache_dir: Path) -> None:
    notices = Notices()
    async with client(simulator, cache_dir, notices, "auto") as mcp:
        assert mcp.protocol_version == "2026-07-28"
        await call_ok(mcp, "list_projects", {})
        simulator.control("revoke-tokens")
        await call_ok(mcp, "list_projects", {})
        assert notices.take() == []
