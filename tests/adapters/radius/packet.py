"""Hand-made RADIUS Access-Requests (RFC 2865), for bytes radclient will not send.

radclient only sends text it can parse; an attacker's NAS or a forged packet
(with the shared secret) can carry any bytes.  Enough of the protocol to send
one PAP request with a Message-Authenticator and read the reply's code and
Reply-Message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT = 1, 2, 3
USER_NAME, USER_PASSWORD, REPLY_MESSAGE, CALLING_STATION_ID = 1, 2, 18, 31
MESSAGE_AUTHENTICATOR = 80


def _attr(kind: int, value: bytes) -> bytes:
    assert len(value) <= 253
    return bytes([kind, len(value) + 2]) + value


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """RFC 2865 5.2: pad to 16 bytes, XOR with chained MD5(secret + previous)."""
    pad = -len(password) % 16 if password else 16
    padded = password + b"\0" * pad
    out, previous = b"", authenticator
    for i in range(0, len(padded), 16):
        mask = hashlib.md5(secret + previous).digest()  # noqa: S324 - the protocol's hash
        block = bytes(a ^ b for a, b in zip(padded[i : i + 16], mask, strict=True))
        out, previous = out + block, block
    return out


def access_request(
    user: bytes,
    password: bytes,
    secret: bytes,
    ident: int = 1,
    calling_station_id: bytes = b"192.0.2.200",
) -> bytes:
    authenticator = os.urandom(16)
    attrs = _attr(USER_NAME, user) + _attr(
        USER_PASSWORD, hide_password(password, secret, authenticator)
    )
    attrs += _attr(CALLING_STATION_ID, calling_station_id)
    attrs += _attr(MESSAGE_AUTHENTICATOR, b"\0" * 16)
    length = 20 + len(attrs)
    packet = struct.pack("!BBH", ACCESS_REQUEST, ident, length) + authenticator + attrs
    mac = hmac.new(secret, packet, hashlib.md5).digest()
    return packet[:-16] + mac


def send(port: int, packet: bytes, timeout: float = 10.0) -> tuple[int, dict[int, bytes]] | None:
    """Send one packet; (code, {attribute: value}) of the reply, or ``None`` on timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, ("127.0.0.1", port))
        try:
            data, _ = s.recvfrom(4096)
        except TimeoutError:
            return None
    attrs: dict[int, bytes] = {}
    i = 20
    while i + 2 <= len(data):
        kind, size = data[i], data[i + 1]
        attrs[kind] = data[i + 2 : i + size]
        i += max(size, 2)
    return data[0], attrs
