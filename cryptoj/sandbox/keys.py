"""The keys the sandbox trusts: JWT verification as Coinbase does it, and key files as Coinbase hands them out."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from cryptoj.coinbase.auth import CdpKey
from cryptoj.errors import CryptojError

__all__ = ["AuthFailed", "KeyRing", "generate_key", "write_key_file"]

ISSUERS = frozenset({"cdp", "coinbase-cloud"})  # `coinbase-cloud` is what SDKs before 1.4.1 sent
HOST_ALIAS = "api.coinbase.com"
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


class AuthFailed(CryptojError):
    """A JWT the sandbox refuses; the reason is for logs and tests, the client only sees `Unauthorized`."""


class KeyRing:
    """Public keys by key name, and the checks Coinbase applies to every JWT.

    Parameters:
        skew_seconds: how far `nbf` and `exp` may be off the sandbox's clock.
        wall_clock: seconds since the epoch (JWT times are real time, not the simulated clock).
    """

    def __init__(self, *, skew_seconds: int = 30, wall_clock: Any = time.time) -> None:
        self._keys: dict[str, PublicKey] = {}
        self._skew = skew_seconds
        self._wall_clock = wall_clock

    def __repr__(self) -> str:
        return f"KeyRing({len(self._keys)} keys)"  # key names identify accounts: never shown

    def __len__(self) -> int:
        return len(self._keys)

    def trust(self, key: CdpKey) -> str:
        """Trust a key; returns its name."""
        name = key.name.get_secret_value()
        public = serialization.load_pem_public_key(key.public_key_pem())
        if not isinstance(public, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            raise AuthFailed("only EC P-256 and Ed25519 keys are supported")  # pragma: no cover - CdpKey refuses others
        self._keys[name] = public
        return name

    def names(self) -> list[str]:
        """Names of the trusted keys."""
        return list(self._keys)

    def verify_rest(self, token: str, *, method: str, hosts: list[str], path: str) -> str:
        """Check a REST JWT; return the key name. `hosts` are the host[:port] values the sandbox answers as."""
        claims = self._verify(token)
        uri = claims.get("uri")
        allowed = {f"{method.upper()} {host}{path}" for host in [*hosts, HOST_ALIAS]}
        if not isinstance(uri, str) or uri not in allowed:  # a list or object claim is unhashable: no crash
            raise AuthFailed("the uri claim does not name this request")
        return str(claims["sub"])

    def verify_ws(self, token: str) -> str:
        """Check a WebSocket JWT (no `uri` claim needed); return the key name."""
        return str(self._verify(token)["sub"])

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthFailed("not a JWT") from None
        name = header.get("kid")
        key = self._keys.get(name) if isinstance(name, str) else None
        if key is None:
            raise AuthFailed("unknown key")
        algorithm = "EdDSA" if isinstance(key, ed25519.Ed25519PublicKey) else "ES256"
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                leeway=self._skew,
                options={"require": ["exp", "nbf", "sub", "iss"], "verify_aud": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthFailed(f"JWT rejected: {type(exc).__name__}") from None
        if not all(isinstance(claims[n], int | float) and not isinstance(claims[n], bool) for n in ("nbf", "exp")):
            raise AuthFailed("nbf and exp must be numbers")  # PyJWT takes "123"; Coinbase wants NumericDate
        if claims["exp"] - claims["nbf"] > 300:
            raise AuthFailed("the JWT lives longer than Coinbase allows")
        if not isinstance(claims["iss"], str) or claims["iss"] not in ISSUERS:
            raise AuthFailed("wrong issuer")
        if claims.get("sub") != name:
            raise AuthFailed("sub and kid differ")
        return claims


def generate_key(*, ed25519_key: bool = False, name: str | None = None) -> CdpKey:
    """A new CDP key (EC P-256 by default) with a name in Coinbase's `organizations/.../apiKeys/...` form."""
    private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey = (
        ed25519.Ed25519PrivateKey.generate() if ed25519_key else ec.generate_private_key(ec.SECP256R1())
    )
    if isinstance(private, ec.EllipticCurvePrivateKey):
        # The SEC1 "EC PRIVATE KEY" PEM, as Coinbase's key download holds it.
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    else:
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    key_name = name or f"organizations/{uuid.uuid4()}/apiKeys/{uuid.uuid4()}"
    return CdpKey.from_strings(key_name, pem.decode("ascii"))


def write_key_file(key: CdpKey, path: Path) -> None:
    """Write the key as Coinbase's downloadable JSON (`name`, `privateKey`), readable by the owner only."""
    text = json.dumps({"name": key.name.get_secret_value(), "privateKey": _private_pem(key)}, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def _private_pem(key: CdpKey) -> str:
    pem = key.private_key_pem().get_secret_value()
    if key.algorithm == "ES256":
        # Coinbase's files hold the SEC1 form; CdpKey gives PKCS#8, which is the same key.
        loaded = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
        return loaded.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode("ascii")
    return pem
