"""A software WebAuthn authenticator for tests: makes and uses a P-256 passkey.

It writes what a browser hands the page: ``navigator.credentials.create``'s
and ``get``'s answers as JSON (attestation ``none``), for any origin, RP ID,
challenge, counter and flags a test wants, so every refusal can be provoked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["SoftAuthenticator", "b64url", "challenge_of", "unb64url"]

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def challenge_of(options: dict[str, object]) -> bytes:
    value = options["challenge"]
    assert isinstance(value, str)
    return unb64url(value)


@dataclass
class SoftAuthenticator:
    """One credential on one software authenticator."""

    origin: str = "https://auth.example.com"
    rp_id: str = "example.com"
    count: int = 0
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    user_handle: bytes = b""

    def _cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: bytes, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": b64url(challenge), "origin": origin or self.origin}
        return json.dumps(data, separators=(",", ":")).encode()

    def _auth_data(self, flags: int, rp_id: str | None, attested: bytes = b"") -> bytes:
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.count) + attested

    def create(
        self,
        challenge: bytes,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int = UP | UV,
    ) -> str:
        """``navigator.credentials.create``'s answer, as JSON text."""
        attested = (
            bytes(16)
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose()
        )
        auth_data = self._auth_data(flags | AT, rp_id, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client = self._client_data("webauthn.create", challenge, origin)
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
            }
        )

    def get(
        self,
        challenge: bytes,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int = UP | UV,
        step: int = 1,
        kind: str = "webauthn.get",
    ) -> str:
        """``navigator.credentials.get``'s answer, as JSON text; the counter moves by ``step``."""
        self.count += step
        auth_data = self._auth_data(flags, rp_id)
        client = self._client_data(kind, challenge, origin)
        signature = self.key.sign(
            auth_data + hashlib.sha256(client).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    "userHandle": b64url(self.user_handle) if self.user_handle else None,
                },
                "clientExtensionResults": {},
            }
        )
