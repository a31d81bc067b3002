"""CDP keys load as users have them, refuse what cannot sign, and never show a secret."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from cryptoj.coinbase.auth import CdpKey, InvalidKeyError, build_rest_jwt, build_ws_jwt
from cryptoj.coinbase.errors import InvalidArgumentError
from cryptoj.errors import ConfigurationError

NAME = "organizations/org-1/apiKeys/key-1"


def _pem(private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def test_ec_pem_with_escaped_newlines_loads_as_es256() -> None:
    pem = _pem(ec.generate_private_key(ec.SECP256R1())).replace("\n", "\\n")
    key = CdpKey.from_strings(f"  {NAME} ", pem)
    assert key.algorithm == "ES256"
    assert key.name.get_secret_value() == NAME


def test_ed25519_pem_and_32_byte_base64_load_as_eddsa() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    assert CdpKey.from_strings(NAME, _pem(private)).algorithm == "EdDSA"
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    key = CdpKey.from_strings(NAME, base64.b64encode(seed).decode())
    assert key.algorithm == "EdDSA"
    assert key.public_key_pem() == CdpKey.from_strings(NAME, _pem(private)).public_key_pem()


@pytest.mark.parametrize(
    ("private_key", "message"),
    [
        ("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----", "not a readable"),
        ("!!!not base64!!!", "neither PEM nor base64"),
        (base64.b64encode(b"x" * 16).decode(), "32 or 64 bytes"),
    ],
)
def test_unusable_private_keys_are_refused_without_echoing_them(private_key: str, message: str) -> None:
    with pytest.raises(InvalidKeyError, match=message) as caught:
        CdpKey.from_strings(NAME, private_key)
    assert private_key not in str(caught.value)
    assert isinstance(caught.value, ConfigurationError)


def test_wrong_curve_and_wrong_key_type_are_refused() -> None:
    with pytest.raises(InvalidKeyError, match="P-256"):
        CdpKey.from_strings(NAME, _pem(ec.generate_private_key(ec.SECP384R1())))
    with pytest.raises(InvalidKeyError, match="unsupported private key type"):
        CdpKey.from_strings(NAME, _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))


def test_an_empty_name_is_refused() -> None:
    with pytest.raises(InvalidKeyError, match="name is empty"):
        CdpKey.from_strings("  ", _pem(ec.generate_private_key(ec.SECP256R1())))


def test_key_file_as_coinbase_hands_it_out(tmp_path: Path) -> None:
    path = tmp_path / "cdp_api_key.json"
    path.write_text(json.dumps({"id": NAME, "privateKey": _pem(ec.generate_private_key(ec.SECP256R1()))}))
    assert CdpKey.from_file(path).name.get_secret_value() == NAME


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("{nope", "is not JSON"), ("[1]", "JSON object"), ('{"name": "x"}', "privateKey")],
)
def test_bad_key_files_are_refused(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "key.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InvalidKeyError, match=message):
        CdpKey.from_file(path)


def test_a_pem_given_as_the_key_file_is_refused_with_no_link_to_its_text(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(_pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(InvalidKeyError, match="is not JSON") as caught:
        CdpKey.from_file(path)
    assert caught.value.__context__ is None  # json's decode error keeps the whole file as its `doc`


def test_repr_of_a_key_shows_no_secret() -> None:
    pem = _pem(ec.generate_private_key(ec.SECP256R1()))
    text = repr(CdpKey.from_strings(NAME, pem))
    assert NAME not in text
    assert "BEGIN" not in text


def test_rest_jwt_refuses_a_query_or_scheme_in_the_uri() -> None:
    key = CdpKey.from_strings(NAME, _pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(InvalidArgumentError, match="without query"):
        build_rest_jwt(key, method="GET", host="api.coinbase.com", path="/x?limit=1")
    with pytest.raises(InvalidArgumentError, match="bare host"):
        build_rest_jwt(key, method="GET", host="https://api.coinbase.com", path="/x")


def test_websocket_jwt_has_no_uri_and_expires_in_two_minutes() -> None:
    key = CdpKey.from_strings(NAME, _pem(ec.generate_private_key(ec.SECP256R1())))
    token = build_ws_jwt(key, now=1_000)
    claims = jwt.decode(token, key.public_key_pem(), algorithms=["ES256"], options={"verify_exp": False})
    assert "uri" not in claims
    assert (claims["nbf"], claims["exp"]) == (1_000, 1_120)


def test_private_key_pem_round_trips() -> None:
    key = CdpKey.from_strings(NAME, _pem(ed25519.Ed25519PrivateKey.generate()))
    again = CdpKey.from_strings(NAME, key.private_key_pem().get_secret_value())
    assert again.public_key_pem() == key.public_key_pem()
