"""API-key and TLS failures raise the documented exception types."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import sightline
from sightline import Client

from .conftest import Live, ProjectAccess, new_live


def test_missing_wrong_and_revoked_keys(live: Live, admin: Client, project: ProjectAccess) -> None:
    with Client(live.address) as anonymous, pytest.raises(sightline.AuthenticationError) as missing:
        anonymous.list_collections(project=project.name)
    assert missing.value.reason == "API_KEY_MISSING"
    with Client(live.address) as anonymous, pytest.raises(sightline.AuthenticationError):
        anonymous.list_projects()
    with Client(live.address, api_key="slk_nope.nope") as wrong, pytest.raises(sightline.AuthenticationError) as invalid:
        wrong.list_collections(project=project.name)
    assert invalid.value.reason == "API_KEY_INVALID"
    key, secret = admin.create_api_key(project.name)
    admin.revoke_api_key(key.id, project=project.name)
    with Client(live.address, api_key=secret) as revoked_client, pytest.raises(sightline.AuthenticationError) as revoked:
        revoked_client.list_collections(project=project.name)
    assert revoked.value.reason == "API_KEY_REVOKED"
    # Authentication errors are PermissionErrors too, for callers that catch the built-in family.
    assert isinstance(revoked.value, PermissionError)
    with pytest.raises(sightline.PermissionDeniedError) as denied:
        project.client.list_collections(project="another-project")
    assert denied.value.reason == "PERMISSION_DENIED"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_live(certificate: tuple[Path, Path]) -> Iterator[Live]:
    cert, key = certificate
    deployment = new_live("tls", SIGHTLINE_TLS_CERT_FILE=str(cert), SIGHTLINE_TLS_KEY_FILE=str(key))
    deployment.start_server()
    try:
        yield deployment
    finally:
        deployment.stop()


def test_tls_with_the_trusted_certificate(tls_live: Live, certificate: tuple[Path, Path]) -> None:
    with Client(f"https://localhost:{tls_live.port}", api_key=tls_live.admin_key, root_certificates=str(certificate[0])) as client:
        client.create_project("tls-ok")
        assert [p.name for p in client.list_projects()] == ["tls-ok"]


def test_tls_with_an_untrusted_certificate(tls_live: Live) -> None:
    with Client(f"localhost:{tls_live.port}", api_key=tls_live.admin_key, tls=True, timeout=10) as client, pytest.raises(sightline.TLSError) as failed:
        client.list_projects()
    assert isinstance(failed.value, sightline.UnavailableError)


def test_plaintext_to_a_tls_server(tls_live: Live) -> None:
    with Client(f"localhost:{tls_live.port}", api_key=tls_live.admin_key, timeout=10) as client, pytest.raises(sightline.UnavailableError):
        client.list_projects()
