"""The sandbox contains a misbehaving component: a panic, an endless loop and runaway allocation each
end that call only (INTERNAL or TIMEOUT), and the next call works. Uses tests/trap-component."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import TARGET, Simulator, call_error, call_ok, connect

pytestmark = pytest.mark.anyio

TRAP_COMPONENT = TARGET / "component" / "wasm32-wasip2" / "release" / "taiga_trap_component.wasm"


async def test_traps_end_only_their_call(simulator: Simulator, cache_dir: Path) -> None:
    assert TRAP_COMPONENT.exists(), "make build compiles tests/trap-component"
    async with connect(
        simulator, cache_dir, TAIGA_COMPONENT=str(TRAP_COMPONENT), CALL_TIMEOUT="1", CALL_MEMORY_MB="16"
    ) as client:
        assert (await call_ok(client, "ok", {}))["ok"] is True
        for tool, code in [("panic", "INTERNAL"), ("allocate", "INTERNAL"), ("spin", "TIMEOUT")]:
            started = time.monotonic()
            error = await call_error(client, tool, {}, code)
            assert time.monotonic() - started < 10, tool
            assert "panic" not in error["message"] and "wasm" not in error["message"].lower(), error
            assert (await call_ok(client, "ok", {}))["ok"] is True, f"the call after {tool} works"


async def test_no_state_survives_from_one_call_to_the_next(simulator: Simulator, cache_dir: Path) -> None:
    """Sandboxes are pooled and reused, their memory kept mapped between calls: each call must still
    find the component's memory as it was at start, even after a trap in the same slot."""
    async with connect(simulator, cache_dir, TAIGA_COMPONENT=str(TRAP_COMPONENT), CALL_SLOTS="1") as client:
        for _ in range(3):
            assert (await call_ok(client, "remember", {}))["calls_before"] == 0
        await call_error(client, "panic", {}, "INTERNAL")
        assert (await call_ok(client, "allocate", {"mebibytes": 8}))["ok"] is True
        assert (await call_ok(client, "remember", {}))["calls_before"] == 0


async def test_a_spinning_call_does_not_hold_up_the_others(simulator: Simulator, cache_dir: Path) -> None:
    """Over stdio every call shares one thread. A guest that computes without end used to hold it until
    its deadline trapped it; it now yields at every epoch tick, so another call answers meanwhile and the
    spinning one still ends at its time limit."""
    import anyio

    async with connect(simulator, cache_dir, TAIGA_COMPONENT=str(TRAP_COMPONENT), CALL_TIMEOUT="4") as client:
        assert (await call_ok(client, "ok", {}))["ok"] is True
        outcome: dict[str, float] = {}
        async with anyio.create_task_group() as group:
            async def spin() -> None:
                started = time.monotonic()
                await call_error(client, "spin", {}, "TIMEOUT")
                outcome["spin"] = time.monotonic() - started

            group.start_soon(spin)
            await anyio.sleep(0.5)
            started = time.monotonic()
            assert (await call_ok(client, "ok", {}))["ok"] is True
            outcome["ok"] = time.monotonic() - started
        assert outcome["ok"] < 1.5, outcome
        assert 3.5 < outcome["spin"] < 10, outcome
