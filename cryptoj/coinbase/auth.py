"""CDP API keys and the JWTs Coinbase Advanced Trade expects.

A key is a name (`organizations/{org}/apiKeys/{id}`, or a bare UUID for newer keys) and a private key:
an EC P-256 PEM (signs ES256) or an Ed25519 key, either as PKCS#8 PEM or as the base64 text the CDP portal
shows (32-byte seed, or seed||public key). Every REST request gets a fresh JWT whose `uri` claim is
``"METHOD host/path"`` (no scheme, no query); every WebSocket subscribe gets one without `uri`.
The key material lives in `SecretStr`; no repr, log line or error message shows it.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pydantic import SecretStr

from cryptoj.coinbase.errors import InvalidArgumentError
from cryptoj.errors import ConfigurationError

__all__ = [
    "JWT_LIFETIME_SECONDS",
    "CdpKey",
    "InvalidKeyError",
    "build_rest_jwt",
    "build_ws_jwt",
]

JWT_LIFETIME_SECONDS = 120  # Coinbase: "Your JWT expires after 2 minutes"
JWT_ISSUER = "cdp"
_NOT_JSON = object()  # what `CdpKey.from_file` read when the file is not JSON

Algorithm = Literal["ES256", "EdDSA"]
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class InvalidKeyError(ConfigurationError):
    """The API key or key file cannot be used: malformed, wrong curve, or missing a field."""


@dataclass(frozen=True, slots=True)
class CdpKey:
    """A loaded CDP API key, ready to sign.

    Parameters:
        name: the key name (`kid` and `sub` of every JWT), secret because it identifies the account.
        algorithm: ES256 for EC P-256 keys, EdDSA for Ed25519 keys.
    """

    name: SecretStr
    algorithm: Algorithm
    _private_key: PrivateKey = field(repr=False)

    @classmethod
    def from_strings(cls, name: str, private_key: str) -> CdpKey:
        """Load a key from its name and private key text (PEM, or base64 Ed25519)."""
        if not name.strip():
            raise InvalidKeyError("the API key name is empty")
        loaded = _load_private_key(private_key)
        algorithm: Algorithm = "EdDSA" if isinstance(loaded, ed25519.Ed25519PrivateKey) else "ES256"
        return cls(name=SecretStr(name.strip()), algorithm=algorithm, _private_key=loaded)

    @classmethod
    def from_secrets(cls, name: SecretStr, private_key: SecretStr) -> CdpKey:
        """Load a key from settings' secret values."""
        return cls.from_strings(name.get_secret_value(), private_key.get_secret_value())

    @classmethod
    def from_file(cls, path: Path) -> CdpKey:
        """Load the JSON key file Coinbase lets users download (`name` or `id`, and `privateKey`)."""
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidKeyError(f"cannot read key file {path}: {exc.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):  # a DER or .p12 file is not even text
            # Raised below, outside the handler: `from None` would only hide the decode error, which keeps
            # the file's text, private key and all (`doc`, `object`).
            data = _NOT_JSON
        if data is _NOT_JSON:
            raise InvalidKeyError(f"key file {path} is not JSON")
        if not isinstance(data, dict):
            raise InvalidKeyError(f"key file {path} must hold a JSON object")
        name = data.get("name") or data.get("id")
        private_key = data.get("privateKey")
        if not isinstance(name, str) or not isinstance(private_key, str):
            raise InvalidKeyError(f"key file {path} needs string fields 'name' (or 'id') and 'privateKey'")
        return cls.from_strings(name, private_key)

    def sign(self, claims: dict[str, Any], *, headers: dict[str, Any]) -> str:
        """Sign claims with this key (used by the JWT builders below)."""
        return jwt.encode(claims, self._private_key, algorithm=self.algorithm, headers=headers)

    def public_key_pem(self) -> bytes:
        """The public half as PEM, for whoever verifies (the sandbox, the tests)."""
        return self._private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def private_key_pem(self) -> SecretStr:
        """The private key as PKCS#8 PEM text (for writing a key file the user asked for)."""
        pem = self._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return SecretStr(pem.decode("ascii"))


def _load_private_key(text: str) -> PrivateKey:
    # Keys pasted into env vars often carry literal "\n"; the official SDK un-escapes them the same way.
    text = text.strip().replace("\\n", "\n")
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise InvalidKeyError("the private key is not a readable unencrypted PEM key") from None
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if not isinstance(key.curve, ec.SECP256R1):
                raise InvalidKeyError(f"EC keys must be on P-256, not {key.curve.name}")
            return key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key
        raise InvalidKeyError(f"unsupported private key type {type(key).__name__}; use EC P-256 or Ed25519")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeyError("the private key is neither PEM nor base64") from None
    if len(raw) not in (32, 64):
        raise InvalidKeyError(f"a base64 Ed25519 key holds 32 or 64 bytes, not {len(raw)}")
    # The CDP portal's 64-byte form is seed || public key; the seed alone defines the key.
    return ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])


def _headers(key: CdpKey) -> dict[str, Any]:
    return {"kid": key.name.get_secret_value(), "nonce": secrets.token_hex(), "typ": "JWT"}


def _claims(key: CdpKey, now: int | None) -> dict[str, Any]:
    issued = int(time.time()) if now is None else now
    return {"sub": key.name.get_secret_value(), "iss": JWT_ISSUER, "nbf": issued, "exp": issued + JWT_LIFETIME_SECONDS}


def build_rest_jwt(key: CdpKey, *, method: str, host: str, path: str, now: int | None = None) -> str:
    """A fresh JWT for one REST request: `uri` is ``"METHOD host/path"``, no scheme and no query string."""
    if "?" in path or "://" in host:
        raise InvalidArgumentError("the JWT uri takes a bare host and a path without query")
    claims = _claims(key, now)
    claims["uri"] = f"{method.upper()} {host}{path}"
    return key.sign(claims, headers=_headers(key))


def build_ws_jwt(key: CdpKey, *, now: int | None = None) -> str:
    """A fresh JWT for one WebSocket subscribe or unsubscribe message (no `uri` claim)."""
    return key.sign(_claims(key, now), headers=_headers(key))
