"""Malformed input on the admin pages: an answer, never a 500, and nothing changed."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import csrf_token
from .test_admin import Admin, admin_routes

TEXT = st.text(st.characters(codec="utf-8"), max_size=300)


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory: pytest.TempPathFactory) -> Admin:
    adm = Admin(Path(tmp_path_factory.mktemp("fuzz")))
    adm.sign_in()
    return adm


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.integers(0, 1000),
    params=st.dictionaries(
        st.sampled_from(
            ["q", "after", "state", "kind", "user", "result", "since", "until", "end", "done"]
        ),
        TEXT,
        max_size=4,
    ),
    form=st.dictionaries(
        st.sampled_from(
            ["role", "pin", "code", "code1", "code2", "type", "expires", "username", "x"]
        ),
        TEXT,
        max_size=5,
    ),
    name=TEXT.filter(lambda t: "/" not in t and t not in (".", "..")),
)
def test_no_input_makes_an_admin_page_fail(
    signed_in: Admin, route: int, params: dict[str, str], form: dict[str, str], name: str
) -> None:
    adm = signed_in
    routes = admin_routes(adm.app)
    method, path = routes[route % len(routes)]
    if name:
        path = path.replace("/alice", "/" + urllib.parse.quote(name, safe=""))
    token = csrf_token(adm.client.get("/admin/invite").text)
    before = [adm.store.get(n) for n in ("root", "carol")]
    r = adm.client.request(method, path, params=params, data={"csrf": token, **form})
    assert r.status_code < 500 or r.status_code == 503, (method, path, r.status_code)
    # No form without the administrator's fresh code can remove or demote anyone.
    assert adm.store.get_role("root") == "admin"
    assert [adm.store.get(n) is not None for n in ("root", "carol")] == [
        b is not None for b in before
    ]


def test_bodies_the_guard_refuses(signed_in: Admin) -> None:
    adm = signed_in
    token = csrf_token(adm.client.get("/admin/invite").text)
    r = adm.client.post(
        "/admin/invite",
        content=b"csrf=" + token.encode() + b"&username=" + b"x" * 100_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    r = adm.client.post(
        "/admin/invite", content=b'{"username": "x"}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 415
    r = adm.client.post(
        "/admin/invite",
        content=b"username=\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
