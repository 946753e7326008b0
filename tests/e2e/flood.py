"""Floods one tenant of a `taiga-mcp` HTTP server with concurrent `get_project` calls, as a separate
process so that the flooding client's own work does not slow the measuring one.

Usage: flood.py <mcp url> <api key> <session id> <project id> <concurrency> <seconds>
Prints `{"ok": n, "rate_limited": n, "other": n}` when done.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from mcp import Client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


async def worker(client: Client, arguments: dict[str, object], until: float, counts: dict[str, int]) -> None:
    while time.monotonic() < until:
        result = await client.call_tool("get_project", arguments)
        if not result.is_error:
            counts["ok"] += 1
        elif (result.structured_content or {}).get("code") == "RATE_LIMITED":
            counts["rate_limited"] += 1
        else:
            counts["other"] += 1


async def main(url: str, key: str, session: str, project: int, concurrency: int, seconds: float) -> None:
    counts = {"ok": 0, "rate_limited": 0, "other": 0}
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        until = time.monotonic() + seconds
        arguments = {"session_id": session, "project_id": project}
        await asyncio.gather(*(worker(client, arguments, until, counts) for _ in range(concurrency)))
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    url, key, session, project, concurrency, seconds = sys.argv[1:7]
    asyncio.run(main(url, key, session, int(project), int(concurrency), float(seconds)))
