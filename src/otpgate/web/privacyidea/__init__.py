"""privacyIDEA's validate API (``/validate/check``, ``/auth``...) for the plugins that speak it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

from ._passkey import PasskeyApi
from ._service import ServiceTokens
from ._transactions import Transactions
from .auth import AuthFirst, ServiceAuth
from .validate import Validate

if TYPE_CHECKING:
    from ...config.loader import Config
    from ...login.authenticator import Authenticator
    from ..api.keys import ApiKeys
    from ..clients import ClientAddresses
    from ..decisions import Decisions

__all__ = ["AuthFirst", "ServiceAuth", "Validate", "build"]


def build(
    config: Config,
    auth: Authenticator,
    decisions: Decisions,
    clients: ClientAddresses,
    keys: ApiKeys,
) -> tuple[list[Route], ServiceAuth]:
    """The endpoints' routes, and ``/auth`` (which :class:`AuthFirst` needs with an empty prefix).

    Raises:
        ConfigError: no secret (transactions and tokens are keyed with it).
    """
    settings, secrets = config.privacyidea, config.secrets()
    tokens = ServiceTokens(secrets, settings.token_lifetime)
    transactions = Transactions(auth.state, secrets[-1], settings.challenge_ttl)
    service = ServiceAuth(
        keys,
        tokens,
        clients,
        decisions.metrics,
        settings.prefix,
        config.web.max_body,
        auth.clock,
    )
    validate = Validate(
        decisions,
        auth,
        clients,
        transactions,
        tokens,
        settings,
        config.web.max_body,
        auth.clock,
        PasskeyApi.build(config, auth, decisions),
    )
    return [*validate.routes(), *service.routes()], service
