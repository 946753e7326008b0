"""Signing in without the password passing through the model: the deployment's own identity from
the environment (a password, a password file or a token), and a directory login type."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from conftest import register, Simulator, call_error, call_ok, connect

pytestmark = pytest.mark.anyio

PASSWORD = "123123"


def taiga_login(simulator: Simulator, username: str, password: str) -> dict:
    """Taiga's own login answer, as a person would get a token for TAIGA_TOKEN."""
    data = json.dumps({"type": "normal", "username": username, "password": password}).encode()
    request = urllib.request.Request(
        f"{simulator.url}/api/v1/auth", data=data, method="POST", headers={"content-type": "application/json"}
    )
    with simulator.open(request) as response:
        return json.load(response)


def list_bytes(tools) -> int:
    return len(json.dumps([tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]))


async def test_an_environment_identity_needs_no_login_and_no_session_id(
    simulator: Simulator, cache_dir: Path, tmp_path: Path
) -> None:
    async with connect(simulator, cache_dir) as client:
        everyone = (await client.list_tools()).tools
    secret = "Erin-s3cret-Pa55"
    register(simulator, "erin", secret)
    log = tmp_path / "stderr.log"
    with log.open("w") as errlog:
        async with connect(
            simulator, cache_dir, errlog, TAIGA_USERNAME="erin", TAIGA_PASSWORD=secret, LOG_LEVEL="trace"
        ) as client:
            tools = (await client.list_tools()).tools
            names = {tool.name for tool in tools}
            assert "login" not in names and "logout" not in names and "session_status" in names
            assert all("session_id" not in tool.input_schema.get("properties", {}) for tool in tools)
            assert all("session_id" not in tool.input_schema.get("required", []) for tool in tools)
            projects = await call_ok(client, "list_projects", {})
            assert projects["items"] == [] and projects["total"] == 0
            status = await call_ok(client, "session_status", {})
            assert status["username"] == "erin"
            assert client.instructions.startswith("Taiga project management, signed in")
    saved = list_bytes(everyone) - list_bytes(tools)
    print(f"tools/list: {list_bytes(everyone)} bytes with login, {list_bytes(tools)} signed in ({saved} saved)")
    assert saved > 3000, saved
    # Signed in once, at start (the identity check) and for every call after.
    logins = [r for r in simulator.requests() if r["path"] == "/api/v1/auth"]
    assert len(logins) == 1, logins
    text = log.read_text()
    assert "signed in to Taiga as the configured identity" in text
    assert secret not in text


async def test_wrong_environment_credentials_are_logged_at_start_and_answer_a_tool_error(
    simulator: Simulator, cache_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "stderr.log"
    with log.open("w") as errlog:
        async with connect(simulator, cache_dir, errlog, TAIGA_USERNAME="admin", TAIGA_PASSWORD="wr0ng-pass") as client:
            error = await call_error(client, "list_projects", {}, "INVALID_CREDENTIALS")
            assert "wr0ng-pass" not in json.dumps(error)
            # The server is still there.
            assert (await client.list_tools()).tools
    text = log.read_text()
    assert "the configured Taiga identity cannot sign in" in text
    assert "INVALID_CREDENTIALS" in text
    assert "wr0ng-pass" not in text


async def test_a_revoked_token_is_renewed_from_a_password_file(
    simulator: Simulator, cache_dir: Path, tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    async with connect(simulator, cache_dir, TAIGA_USERNAME="admin", TAIGA_PASSWORD_FILE=str(password_file)) as client:
        await call_ok(client, "list_projects", {})
        simulator.control("revoke-tokens")
        simulator.clear_requests()
        projects = await call_ok(client, "list_projects", {})
        assert projects["total"] == 3
    paths = [r["path"] for r in simulator.requests()]
    assert paths == ["/api/v1/projects", "/api/v1/auth/refresh", "/api/v1/projects"], paths


async def test_a_token_identity_acts_as_its_user_without_signing_in(simulator: Simulator, cache_dir: Path) -> None:
    tokens = taiga_login(simulator, "admin", PASSWORD)
    simulator.clear_requests()
    async with connect(
        simulator, cache_dir, TAIGA_TOKEN=tokens["auth_token"], TAIGA_REFRESH_TOKEN=tokens["refresh"]
    ) as client:
        status = await call_ok(client, "session_status", {})
        assert status["username"] == "admin"
        await call_ok(client, "list_projects", {})
    paths = [r["path"] for r in simulator.requests()]
    assert "/api/v1/auth" not in paths and paths[0] == "/api/v1/users/me", paths


async def test_a_directory_login_type_is_used_by_every_sign_in(cache_dir: Path) -> None:
    directory = Simulator("demo", "--auth-plugin", "ldap")
    try:
        dana = {"username": "dana", "password": "directory-pass"}
        async with connect(directory, cache_dir) as client:
            await call_error(client, "login", dana, "INVALID_CREDENTIALS")
        async with connect(directory, cache_dir, TAIGA_LOGIN_TYPE="ldap") as client:
            login = await call_ok(client, "login", dana)
            assert login["username"] == "dana"
            await call_error(client, "login", {**dana, "password": "wrong"}, "INVALID_CREDENTIALS")
        async with connect(
            directory, cache_dir, TAIGA_LOGIN_TYPE="ldap", TAIGA_USERNAME="dana", TAIGA_PASSWORD="directory-pass"
        ) as client:
            assert (await call_ok(client, "session_status", {}))["username"] == "dana"
        posted = [json.loads(r["body"])["type"] for r in directory.requests() if r["path"] == "/api/v1/auth"]
        # The identity's check at start and the first call may both sign in: each posts `ldap`.
        assert posted[:3] == ["normal", "ldap", "ldap"] and set(posted[3:]) == {"ldap"}, posted
    finally:
        directory.stop()
    async with connect(directory_free := Simulator(), cache_dir, TAIGA_LOGIN_TYPE="ldap") as client:
        error = await call_error(client, "login", {"username": "admin", "password": PASSWORD}, "INVALID_INPUT")
        assert "TAIGA_LOGIN_TYPE" in error["message"]
    directory_free.stop()
