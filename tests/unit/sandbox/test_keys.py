"""JWT verification as Coinbase does it, and key files as Coinbase hands them out."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import jwt
import pytest

from cryptoj.coinbase.auth import CdpKey, build_rest_jwt, build_ws_jwt
from cryptoj.sandbox.keys import AuthFailed, KeyRing, generate_key, write_key_file

HOST = "127.0.0.1:8443"
PATH = "/api/v3/brokerage/accounts"


@pytest.fixture(scope="module", params=["ES256", "EdDSA"])
def key(request: pytest.FixtureRequest) -> CdpKey:
    return generate_key(ed25519_key=request.param == "EdDSA")


@pytest.fixture
def ring(key: CdpKey) -> KeyRing:
    ring = KeyRing(skew_seconds=5)
    ring.trust(key)
    return ring


def verify(ring: KeyRing, token: str, *, method: str = "GET", path: str = PATH) -> str:
    return ring.verify_rest(token, method=method, hosts=[HOST], path=path)


def sign(key: CdpKey, claims: dict[str, object], **header: object) -> str:
    name = key.name.get_secret_value()
    return key.sign(claims, headers={"kid": name, "nonce": "00", "typ": "JWT", **header})


def claims_for(key: CdpKey, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": key.name.get_secret_value(),
        "iss": "cdp",
        "nbf": now,
        "exp": now + 120,
        "uri": f"GET {HOST}{PATH}",
    }
    return base | overrides


def test_a_fresh_rest_jwt_names_its_key(ring: KeyRing, key: CdpKey) -> None:
    token = build_rest_jwt(key, method="GET", host=HOST, path=PATH)
    assert verify(ring, token) == key.name.get_secret_value()


def test_the_production_host_is_accepted_as_an_alias(ring: KeyRing, key: CdpKey) -> None:
    token = build_rest_jwt(key, method="GET", host="api.coinbase.com", path=PATH)
    assert verify(ring, token) == key.name.get_secret_value()


@pytest.mark.parametrize(
    ("method", "host", "path"),
    [
        ("POST", HOST, PATH),  # another method
        ("GET", "127.0.0.1:9999", PATH),  # another host
        ("GET", HOST, "/api/v3/brokerage/orders"),  # another path
    ],
)
def test_a_uri_naming_another_request_is_refused(ring: KeyRing, key: CdpKey, method: str, host: str, path: str) -> None:
    token = build_rest_jwt(key, method=method, host=host, path=path)
    with pytest.raises(AuthFailed, match="uri"):
        verify(ring, token)


def test_an_expired_jwt_is_refused(ring: KeyRing, key: CdpKey) -> None:
    token = build_rest_jwt(key, method="GET", host=HOST, path=PATH, now=int(time.time()) - 200)
    with pytest.raises(AuthFailed, match="ExpiredSignature"):
        verify(ring, token)


def test_a_jwt_not_valid_yet_is_refused(ring: KeyRing, key: CdpKey) -> None:
    token = build_rest_jwt(key, method="GET", host=HOST, path=PATH, now=int(time.time()) + 60)
    with pytest.raises(AuthFailed, match="ImmatureSignature"):
        verify(ring, token)


def test_small_clock_skew_is_tolerated(ring: KeyRing, key: CdpKey) -> None:
    token = build_rest_jwt(key, method="GET", host=HOST, path=PATH, now=int(time.time()) + 3)
    assert verify(ring, token)


def test_the_legacy_issuer_is_accepted_and_others_refused(ring: KeyRing, key: CdpKey) -> None:
    assert verify(ring, sign(key, claims_for(key, iss="coinbase-cloud")))
    with pytest.raises(AuthFailed, match="issuer"):
        verify(ring, sign(key, claims_for(key, iss="someone")))


def test_sub_must_equal_kid(ring: KeyRing, key: CdpKey) -> None:
    with pytest.raises(AuthFailed, match="sub"):
        verify(ring, sign(key, claims_for(key, sub="organizations/x/apiKeys/other")))


def test_a_jwt_living_longer_than_coinbase_allows_is_refused(ring: KeyRing, key: CdpKey) -> None:
    now = int(time.time())
    with pytest.raises(AuthFailed, match="longer"):
        verify(ring, sign(key, claims_for(key, exp=now + 3600)))


def test_an_unknown_key_is_refused(ring: KeyRing) -> None:
    stranger = generate_key()
    with pytest.raises(AuthFailed, match="unknown key"):
        verify(ring, build_rest_jwt(stranger, method="GET", host=HOST, path=PATH))


def test_a_signature_by_another_key_with_a_trusted_name_is_refused(ring: KeyRing, key: CdpKey) -> None:
    impostor = generate_key(ed25519_key=key.algorithm == "EdDSA", name=key.name.get_secret_value())
    with pytest.raises(AuthFailed, match="InvalidSignature"):
        verify(ring, build_rest_jwt(impostor, method="GET", host=HOST, path=PATH))


def test_garbage_is_not_a_jwt(ring: KeyRing) -> None:
    with pytest.raises(AuthFailed, match="not a JWT"):
        verify(ring, "not-a-token")


def test_missing_required_claims_are_refused(ring: KeyRing, key: CdpKey) -> None:
    claims = claims_for(key)
    del claims["exp"]
    with pytest.raises(AuthFailed, match="MissingRequiredClaim"):
        verify(ring, sign(key, claims))


def test_websocket_jwts_need_no_uri(ring: KeyRing, key: CdpKey) -> None:
    assert ring.verify_ws(build_ws_jwt(key)) == key.name.get_secret_value()


def test_an_unsigned_token_is_refused(ring: KeyRing, key: CdpKey) -> None:
    token = jwt.encode(claims_for(key), key=None, algorithm="none", headers={"kid": key.name.get_secret_value()})
    with pytest.raises(AuthFailed):
        verify(ring, token)


def test_the_ring_never_shows_key_names(ring: KeyRing, key: CdpKey) -> None:
    assert key.name.get_secret_value() not in repr(ring)
    assert len(ring) == 1
    assert ring.names() == [key.name.get_secret_value()]


@pytest.mark.parametrize("ed25519", [False, True])
def test_keygen_writes_coinbases_key_file_shape_for_the_owner_only(tmp_path: Path, ed25519: bool) -> None:
    path = tmp_path / "keys" / "key.json"
    key = generate_key(ed25519_key=ed25519)
    write_key_file(key, path)
    data = json.loads(path.read_text())
    assert set(data) == {"name", "privateKey"}
    assert data["name"].startswith("organizations/")
    expected = "-----BEGIN PRIVATE KEY-----" if ed25519 else "-----BEGIN EC PRIVATE KEY-----"
    assert data["privateKey"].startswith(expected)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = CdpKey.from_file(path)
    assert loaded.public_key_pem() == key.public_key_pem()


@pytest.mark.parametrize("uri", [[f"GET {HOST}{PATH}"], {"GET": PATH}, 7, None])
def test_a_uri_claim_that_is_not_text_is_refused_not_a_crash(ring: KeyRing, key: CdpKey, uri: object) -> None:
    with pytest.raises(AuthFailed, match="uri"):
        verify(ring, sign(key, claims_for(key, uri=uri)))


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": ["cdp"]},
        {"nbf": str(int(time.time()))},
        {"exp": str(int(time.time()) + 60)},
        {"sub": {"name": "x"}},
    ],
)
def test_claims_of_the_wrong_type_are_refused_not_a_crash(
    ring: KeyRing, key: CdpKey, claims: dict[str, object]
) -> None:
    # Signed as raw JWS: PyJWT's own encoder refuses some of these claims before signing.
    payload = json.dumps(claims_for(key, **claims)).encode()
    private = key.private_key_pem().get_secret_value()
    token = jwt.PyJWS().encode(payload, private, algorithm=key.algorithm, headers={"kid": key.name.get_secret_value()})
    with pytest.raises(AuthFailed):
        verify(ring, token)
