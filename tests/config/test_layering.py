"""config/ imports nothing from the floors above it: only otp/, errors and _limits are below.

Every front end (Apache's children, PAM, FreeRADIUS) reads the settings, and
the login code reads ``AuthSettings``; so config may import neither the login,
the state, the store nor the web, not even for type checking.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import otpgate.config
from store.test_layering import circles, module_name, otpgate_imports

CONFIG = Path(otpgate.config.__file__).parent
ALLOWED = ("otpgate.config", "otpgate.otp", "otpgate.errors", "otpgate._limits")


@pytest.mark.parametrize(
    "path", sorted(CONFIG.rglob("*.py")), ids=lambda p: str(p.relative_to(CONFIG))
)
def test_config_imports_only_from_below(path: Path) -> None:
    above = {m for m in otpgate_imports(path) if not m.startswith(ALLOWED)}
    assert not above, f"{path.relative_to(CONFIG)} imports {sorted(above)}"


def test_the_check_sees_an_import_from_above() -> None:
    # The state reads its settings from config: the arrow config -> state it replaced
    # would be caught, as state's own imports are.
    state = CONFIG.parent / "state" / "__init__.py"
    assert "otpgate.config.state" in otpgate_imports(state)
    assert {m for m in otpgate_imports(state) if not m.startswith(ALLOWED)}


def test_no_import_circle_inside_config() -> None:
    graph = {
        module_name(p): {m for m in otpgate_imports(p) if m.startswith("otpgate.config")}
        for p in CONFIG.rglob("*.py")
    }
    assert circles(graph) == []
