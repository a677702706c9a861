"""Random, empty, huge and malformed input into every form and every token path: never a 5xx."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter, Rule

from tests.factories import sign_in

FUZZ = settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
NAME = re.compile(r'<(?:input|textarea|select)[^>]*\bname="([^"]+)"')
TOKEN_PATHS = ["/s/{}", "/e/{}", "/auth/invitation/{}", "/auth/reset/{}", "/s/{}/reply"]

hostile_text = st.one_of(
    st.text(max_size=40),
    st.just(""),
    st.just("<script>alert(1)</script>"),
    st.just("javascript:alert(1)"),
    st.just("\x00\ufffd\u202e"),
    st.text(min_size=5_000, max_size=12_000, alphabet="ab <>&\"'é\n"),
    st.integers(min_value=-(2**63), max_value=2**63).map(str),
    st.just("9" * 400),
)


@pytest.fixture
def people(alice, alice_enrollment, claire):
    """Alice and Claire, whose objects the routes' ids name."""
    return {"enrollment": alice_enrollment, "alice": alice}


def id_for(rule: Rule, name: str, people) -> object:
    """A real id where the route names one of the personas' objects, else a stranger's."""
    converter = rule._converters[name]
    if hasattr(converter, "items"):
        return sorted(converter.items)[0]
    if isinstance(converter, IntegerConverter):
        if name == "enrollment_id":
            return people["enrollment"].id
        if name == "programme_id":
            return people["enrollment"].programme_id
        if name == "item_id" or name.endswith("_id"):
            return people["alice"].conditions[0].id
        return 1
    return "x" * 22


def write_routes(app, people) -> list[str]:
    adapter = app.url_map.bind("pathway.test", url_scheme="https")
    found = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()):
            continue
        values = {name: id_for(rule, name, people) for name in rule.arguments}
        found.append(adapter.build(rule.endpoint, values, method="POST"))
    return sorted(set(found))


def field_names(client, url: str) -> list[str]:
    page = client.get(url).get_data(as_text=True)
    names = {name for name in NAME.findall(page) if name != "csrf_token"}
    return sorted(names) or ["text", "label", "email", "password", "code"]


@pytest.mark.parametrize("who", ["anonymous", "patient", "educator"])
def test_random_input_into_every_form_never_fails(app, client, people, who: str) -> None:
    if who != "anonymous":
        sign_in(client, "alice@example.org" if who == "patient" else "claire@example.org")
    token = client.csrf_token("/")
    targets = [(url, field_names(client, url)) for url in write_routes(app, people)]
    assert len(targets) > 20

    @FUZZ
    @given(data=st.data())
    def post_everywhere(data: st.DataObject) -> None:
        for url, names in targets:
            form = {name: data.draw(hostile_text, label=name) for name in names}
            form["csrf_token"] = token
            response = client.post(url, data=form)
            assert response.status_code < 500, (url, response.status_code)

    post_everywhere()
    assert client.get("/healthz").status_code == 200


@FUZZ
@given(
    token=st.one_of(
        st.text(max_size=300),
        st.from_regex(r"[A-Za-z0-9_\-]{0,60}\.[A-Za-z0-9_\-.]{0,60}", fullmatch=True),
    )
)
def test_random_tokens_on_every_token_path_never_fail(client, db, token: str) -> None:
    for template in TOKEN_PATHS:
        path = template.format(token.replace("/", "").replace("?", "").replace("#", "") or "x")
        response = client.get(path)
        assert response.status_code in (404, 405, 410, 429), (path, response.status_code)


def test_a_nul_character_in_a_form_is_refused_with_a_message(client, db) -> None:
    response = client.submit("/auth/login", {"email": "a\x00@example.org", "password": "x"})
    assert response.status_code == 400
    assert "caractère non valide" in response.get_data(as_text=True)


def test_a_nul_character_in_an_address_is_not_found(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    assert client.get("/shares/abc%00def").status_code == 404
