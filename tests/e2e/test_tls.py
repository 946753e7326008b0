"""A self-hosted Taiga over TLS with a certificate from a company's own CA: the simulator served
over HTTPS with certificates this test makes (trustme), `taiga-mcp` trusting that CA through
`TAIGA_CA_FILE` or the system store (`SSL_CERT_FILE`), and every refusal named for what it is."""

from __future__ import annotations

import datetime
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from conftest import TAIGA_MCP, Simulator, call_error, call_ok, connect

pytestmark = pytest.mark.anyio

ADMIN = {"username": "admin", "password": "123123"}


class TlsTaiga:
    """A CA and the simulator over HTTPS with a certificate it issued for `names`."""

    def __init__(self, tmp_path: Path, names: tuple[str, ...] = ("127.0.0.1",), expired: bool = False) -> None:
        self.ca = trustme.CA()
        self.ca_file = tmp_path / "company-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        now = datetime.datetime.now(datetime.timezone.utc)
        window = {"not_before": now - datetime.timedelta(days=60), "not_after": now - datetime.timedelta(days=30)} if expired else {}
        certificate = self.ca.issue_cert(*names, **window)
        chain, key = tmp_path / "taiga-chain.pem", tmp_path / "taiga-key.pem"
        with chain.open("wb") as out:
            for pem in certificate.cert_chain_pems:
                out.write(pem.bytes())
        certificate.private_key_pem.write_to_path(str(key))
        self.sim = Simulator("demo", "--tls-cert", str(chain), "--tls-key", str(key))
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE if expired or names != ("127.0.0.1",) else ssl.CERT_REQUIRED
        self.sim.context = context
        assert self.sim.url.startswith("https://127.0.0.1:")


@pytest.fixture
def tls_taiga(tmp_path: Path) -> Iterator[TlsTaiga]:
    taiga = TlsTaiga(tmp_path)
    yield taiga
    taiga.sim.stop()


def assert_plain_message(error: dict) -> None:
    assert "try again" not in error["message"], error
    assert "ErrorCode" not in error["message"] and "::" not in str(error["details"]), error


async def test_a_company_ca_is_refused_by_default_and_named_as_the_fix(tls_taiga: TlsTaiga, cache_dir: Path) -> None:
    async with connect(tls_taiga.sim, cache_dir) as client:
        error = await call_error(client, "login", ADMIN, "CERTIFICATE_REJECTED")
    assert error["details"]["reason"] == "certificate-untrusted"
    assert error["details"]["setting"] == "TAIGA_CA_FILE"
    assert "TAIGA_CA_FILE" in error["message"] and tls_taiga.sim.url in error["message"]
    assert_plain_message(error)
    assert tls_taiga.sim.requests() == [], "nothing was sent over a connection that was not trusted"


async def test_taiga_ca_file_trusts_the_company_ca(tls_taiga: TlsTaiga, cache_dir: Path) -> None:
    async with connect(tls_taiga.sim, cache_dir, TAIGA_CA_FILE=str(tls_taiga.ca_file)) as client:
        session = (await call_ok(client, "login", ADMIN))["session_id"]
        projects = await call_ok(client, "list_projects", {"session_id": session})
        assert projects["total"] == 3
        story = await call_ok(client, "create_user_story", {"session_id": session, "project_id": projects["items"][0]["id"], "title": "Over TLS"})
        assert story["title"] == "Over TLS"
    assert {r["path"] for r in tls_taiga.sim.requests()} >= {"/api/v1/auth", "/api/v1/projects", "/api/v1/userstories"}


async def test_the_system_store_is_trusted_too(tls_taiga: TlsTaiga, cache_dir: Path) -> None:
    # SSL_CERT_FILE names the certificate store, as it does for OpenSSL and Python.
    async with connect(tls_taiga.sim, cache_dir, SSL_CERT_FILE=str(tls_taiga.ca_file)) as client:
        assert (await call_ok(client, "login", ADMIN))["username"] == "admin"


@pytest.mark.parametrize(
    ("names", "expired", "reason", "hint"),
    [
        (("127.0.0.1",), True, "certificate-expired", "expired"),
        (("taiga.example",), False, "certificate-wrong-name", "TAIGA_API_URL"),
    ],
)
async def test_expired_and_misnamed_certificates_are_reported_as_such(
    tmp_path: Path, cache_dir: Path, names: tuple[str, ...], expired: bool, reason: str, hint: str
) -> None:
    taiga = TlsTaiga(tmp_path, names, expired)
    try:
        async with connect(taiga.sim, cache_dir, TAIGA_CA_FILE=str(taiga.ca_file)) as client:
            error = await call_error(client, "login", ADMIN, "CERTIFICATE_REJECTED")
        assert error["details"]["reason"] == reason
        assert hint in error["message"], error
        assert_plain_message(error)
    finally:
        taiga.sim.stop()


def test_a_ca_file_that_cannot_be_read_stops_the_server(tmp_path: Path) -> None:
    for path, problem in [(tmp_path / "missing.pem", "not a readable PEM file"), (tmp_path / "empty.pem", "holds no PEM certificate")]:
        if path.name == "empty.pem":
            path.write_text("no certificate here\n")
        done = subprocess.run([str(TAIGA_MCP)], env={"TAIGA_CA_FILE": str(path), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert done.returncode != 0 and done.stdout == ""
        assert "TAIGA_CA_FILE" in done.stderr and problem in done.stderr, done.stderr
