"""ASGI factory for servers that import the app by name (``--workers``, granian).

``otpgate serve`` runs one uvicorn process with the app object; multi-process
servers need an import string, so this module builds the same app the same
way (``load_config`` + ``open_authenticator`` + ``create_app``) from
``$OTPGATE_CONFIG``, once per worker process (``OTPGATE_BENCH_FASTPATH=1``
adds the prototype in ``bench/fastpath.py``)::

    uvicorn --app-dir bench --factory gateapp:app --workers 2
    granian --interface asgi --working-dir bench --factory gateapp:app --workers 2
"""

from __future__ import annotations

import os
from typing import Any

from otpgate.config import load_config, open_authenticator
from otpgate.web import create_app


def app() -> Any:
    config = load_config(os.environ["OTPGATE_CONFIG"])
    authenticator = open_authenticator(config)
    app = create_app(config, authenticator, authenticator.store, on_shutdown=authenticator.close)
    if os.environ.get("OTPGATE_BENCH_FASTPATH") == "1":
        from fastpath import wrap

        return wrap(app)
    return app
