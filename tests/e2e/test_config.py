"""Configuration from a TOML file, below the environment and the flags."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from conftest import TAIGA_MCP, Simulator, call_ok

pytestmark = pytest.mark.anyio


async def test_a_config_file_configures_the_server(simulator: Simulator, cache_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "taiga-mcp.toml"
    config.write_text(
        f'taiga_api_url = "{simulator.url}"\nallow_http_taiga = true\nrequest_timeout = "not a number"\n'
        'taiga_allowed_hosts = ["https://other.example"]\n'
    )
    env = {"TAIGA_MCP_CONFIG": str(config), "TAIGA_MCP_CACHE_DIR": str(cache_dir), "REQUEST_TIMEOUT": "5"}
    async with Client(StdioServerParameters(command=str(TAIGA_MCP), env=env)) as client:
        result = await call_ok(client, "login", {"username": "admin", "password": "123123"})
        assert result["username"] == "admin", "the file's TAIGA_API_URL was used; the environment fixed its timeout"


def run_with(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TAIGA_MCP), *args], env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_unknown_keys_and_bad_files_stop_the_server(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('taiga_api_ulr = "https://typo.example"\n')
    done = run_with(["--config", str(config)], {})
    assert done.returncode == 2 and "taiga_api_ulr" in done.stderr and done.stdout == ""
    done = run_with([f"--config={tmp_path / 'missing.toml'}"], {})
    assert done.returncode == 2 and "missing.toml" in done.stderr
    config.write_text("request_timeout = 0\n")
    done = run_with(["--config", str(config)], {})
    assert done.returncode != 0 and "request-timeout" in done.stderr.lower()


def test_every_variable_is_in_the_example_file() -> None:
    help_text = run_with(["--help"], {}).stdout
    variables = {part.split("=")[0] for part in help_text.split("[env: ")[1:]}
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    listed = {line.split("=")[0].lstrip("# ").strip() for line in example.splitlines() if "=" in line}
    assert variables and variables <= listed, variables - listed
