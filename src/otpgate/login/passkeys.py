"""Passkey ceremonies (WebAuthn Level 2/3): registration and sign-in, as pure logic.

py_webauthn (``webauthn`` on PyPI, docs/passkeys.md says why) checks what
the specification asks of a relying party: the challenge, the origin (one of
``web.webauthn_origins``), the RP ID hash, user presence, user verification
when required, the signature, and the attestation statement of every format
it knows.  This module adds what is the gate's:

* challenges are single use and expire (:class:`~otpgate.state.challenges.Challenges`,
  shared through Redis), and each is bound to its purpose and user: a
  registration challenge does not sign anybody in, a step-up's
  (:data:`STEP_UP`, confirming a change on ``/account`` or ``/admin``) does
  not sign in and a sign-in's does not confirm a change, one user's
  challenge does not answer for another;
* the credential must belong to the user who asked (or, without a user name,
  to the user it names), and a sign-in without a user name, like a step-up,
  requires user verification;
* the signature counter: a counter that did not grow (when either count is
  not zero) means two authenticators hold one key, a cloned one
  (:class:`ClonedPasskey`); it is checked only after the signature, so a
  forged answer cannot make a user's passkey look cloned;
* the new count is written with compare-and-set: one assertion signs in once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any, Final

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..store.passkeys import Passkey, check_passkey_name, new_passkey_id
from .passkey_types import LOGIN, STEP_UP, Assertion, ClonedPasskey, PasskeyRefused, RelyingParty

if TYPE_CHECKING:
    from ..state.challenges import Challenges
    from ..store.passkeys import PasskeyStore

__all__ = [
    "STEP_UP",
    "Assertion",
    "Ceremonies",
    "ClonedPasskey",
    "PasskeyRefused",
    "RelyingParty",
]

TIMEOUT_MS: Final = 120_000
# A browser's answer is a few kilobytes; anything longer is not one.
MAX_RESPONSE: Final = 16_384
_BAD_INPUT: Final = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


class Ceremonies:
    """Registration and sign-in options and their verification.

    Args:
        rp: the relying party.
        challenges: where challenges wait for their answer.
        store: the users' passkeys.
    """

    def __init__(self, rp: RelyingParty, challenges: Challenges, store: PasskeyStore) -> None:
        self.rp = rp
        self.challenges = challenges
        self.store = store

    # -- registration ----------------------------------------------------------

    def registration_options(self, user: str, now: float) -> tuple[str, dict[str, Any]]:
        """(handle, ``publicKey`` options) for ``navigator.credentials.create``.

        Raises:
            PasskeyRefused: the challenge cannot be kept (the shared state is away).
            StoreError: the store failed.
        """
        exclude = [
            PublicKeyCredentialDescriptor(id=p.credential_id) for p in self.store.passkeys(user)
        ]
        options = generate_registration_options(
            rp_id=self.rp.rp_id,
            rp_name=self.rp.name,
            user_name=user,
            user_id=self._user_handle(user),
            timeout=TIMEOUT_MS,
            exclude_credentials=exclude,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
        )
        handle = self._keep("register", user, options.challenge, now)
        return handle, json.loads(options_to_json(options))

    def register(self, user: str, handle: str, response: str, name: str, now: float) -> Passkey:
        """Verify ``navigator.credentials.create``'s answer and keep the new passkey.

        Raises:
            PasskeyRefused: see :meth:`verify_registration`.
            StoreError: the credential is registered already; the store failed.
        """
        passkey = self.verify_registration(user, handle, response, name, now)
        self.store.add_passkey(passkey)
        return passkey

    def verify_registration(
        self, user: str, handle: str, response: str, name: str, now: float
    ) -> Passkey:
        """The new passkey ``navigator.credentials.create``'s answer makes (not kept yet).

        Raises:
            PasskeyRefused: a bad, stale or replayed answer, or a bad name.
        """
        try:
            name = check_passkey_name(name)
        except ValueError as exc:
            raise PasskeyRefused(str(exc)) from None
        challenge = self._take(handle, "register", user, now)
        try:
            credential = parse_registration_credential_json(_text(response))
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.rp.rp_id,
                expected_origin=list(self.rp.origins),
            )
        except _BAD_INPUT as exc:
            raise PasskeyRefused(f"registration: {exc.__class__.__name__}") from None
        transports = tuple(str(t.value) for t in credential.response.transports or ())
        return Passkey(
            new_passkey_id(),
            user,
            verified.credential_id,
            verified.credential_public_key,
            verified.sign_count,
            transports,
            verified.aaguid,
            name,
            now,
        )

    # -- sign-in ---------------------------------------------------------------

    def authentication_options(
        self, user: str | None, now: float, purpose: str = LOGIN
    ) -> tuple[str, dict[str, Any]]:
        """(handle, ``publicKey`` options) for ``navigator.credentials.get``.

        With a user name, the user's credentials are allowed; a name without
        passkeys (or unknown) gets a decoy credential id derived from the
        name, so the answer does not tell which names have passkeys.  Without
        one, the browser offers its discoverable credentials and must verify
        the user.  ``purpose`` :data:`STEP_UP` (a signed-in user confirming a
        change) needs the user name and requires user verification.

        Raises:
            ValueError: an unknown purpose, or a step-up without a user.
            PasskeyRefused: the challenge cannot be kept.
            StoreError: the store failed.
        """
        if purpose not in (LOGIN, STEP_UP) or (purpose == STEP_UP and user is None):
            raise ValueError(f"no passkey request for {purpose!r} without a user")
        allow: list[PublicKeyCredentialDescriptor] = []
        if user is not None:
            ids = [p.credential_id for p in self.store.passkeys(user)] or [self._decoy(user)]
            allow = [PublicKeyCredentialDescriptor(id=i) for i in ids]
        required = user is None or purpose == STEP_UP
        options = generate_authentication_options(
            rp_id=self.rp.rp_id,
            timeout=TIMEOUT_MS,
            allow_credentials=allow,
            user_verification=UserVerificationRequirement.REQUIRED
            if required
            else UserVerificationRequirement.PREFERRED,
        )
        handle = self._keep(purpose, user or "", options.challenge, now)
        return handle, json.loads(options_to_json(options))

    def passkey_of(self, response: str) -> Passkey | None:
        """The stored passkey an answer names (by its credential id), or ``None``.

        Raises:
            PasskeyRefused: the answer is not one.
            StoreError: the store failed.
        """
        try:
            credential = parse_authentication_credential_json(_text(response))
        except _BAD_INPUT as exc:
            raise PasskeyRefused(f"assertion: {exc.__class__.__name__}") from None
        return self.store.find_passkey(credential.raw_id)

    def verify(
        self,
        passkey: Passkey | None,
        handle: str,
        response: str,
        user: str | None,
        now: float,
        purpose: str = LOGIN,
    ) -> Assertion:
        """Check a sign-in's (or a step-up's) answer for ``passkey`` (:meth:`passkey_of`)
        and count its use.

        ``user``: the name typed (``None`` for a sign-in without one, which then
        requires user verification, as a :data:`STEP_UP` does).  ``passkey``
        ``None`` (no such credential): the challenge is used up all the same,
        and the answer refused.

        Raises:
            ClonedPasskey: a genuine signature whose counter did not grow.
            PasskeyRefused: anything else wrong (the challenge is used up either way).
            StoreError: the store failed.
        """
        challenge = self._take(handle, purpose, user or "", now)
        if passkey is None:
            raise PasskeyRefused("no such passkey")
        if user is not None and passkey.user != user:
            raise PasskeyRefused("another user's passkey")
        try:
            verified = verify_authentication_response(
                credential=_text(response),
                expected_challenge=challenge,
                expected_rp_id=self.rp.rp_id,
                expected_origin=list(self.rp.origins),
                credential_public_key=passkey.public_key,
                credential_current_sign_count=0,  # checked below, after the signature
                require_user_verification=user is None or purpose == STEP_UP,
            )
        except _BAD_INPUT as exc:
            raise PasskeyRefused(f"assertion: {exc}") from None
        count = verified.new_sign_count
        if (count > 0 or passkey.sign_count > 0) and count <= passkey.sign_count:
            raise ClonedPasskey(passkey, count)
        if not self.store.use_passkey(passkey.id, passkey.sign_count, count, now):
            raise PasskeyRefused("the passkey was used at the same time")
        return Assertion(passkey, count, verified.user_verified)

    # -- challenges ------------------------------------------------------------

    def _keep(self, purpose: str, user: str, challenge: bytes, now: float) -> str:
        value = json.dumps({"p": purpose, "u": user, "c": challenge.hex()}).encode()
        handle = self.challenges.put(value, now)
        if handle is None:
            raise PasskeyRefused("the challenge could not be kept (shared state away)")
        return handle

    def _take(self, handle: str, purpose: str, user: str, now: float) -> bytes:
        """The challenge of ``handle`` if it was made for ``purpose`` and ``user``; used up."""
        value = self.challenges.take(handle, now)
        if value is None:
            raise PasskeyRefused("no such challenge (used, expired or made up)")
        kept = json.loads(value)
        if kept["p"] != purpose or kept["u"] != user:
            raise PasskeyRefused("the challenge was made for something else")
        return bytes.fromhex(kept["c"])

    def _user_handle(self, user: str) -> bytes:
        return hmac.digest(
            self.rp.secret, b"otpgate passkey user\0" + user.encode(), hashlib.sha256
        )

    def _decoy(self, user: str) -> bytes:
        return hmac.digest(self.rp.secret, b"otpgate decoy passkey\0" + user.encode(), "sha256")


def _text(response: object) -> str:
    """A browser's answer as text, bounded.

    Raises:
        PasskeyRefused: not text, or too long to be one.
    """
    if not isinstance(response, str) or not 0 < len(response) <= MAX_RESPONSE:
        raise PasskeyRefused("not a WebAuthn answer")
    return response
