"""Choosing the protocol and the REST API's OAuth settings: arguments, INTACCT_*, the profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from intacct_sync import IntacctClient
from intacct_sync.config import IntacctRestCredentials, resolve_protocol
from intacct_sync.errors import ConfigError
from intacct_sync.intacct.rest import AuthorizationCode, ClientCredentials, FileTokenCache

SECRET = "rest-client-secret-value-9f2c"
REST = {
    "INTACCT_CLIENT_ID": "app-id",
    "INTACCT_CLIENT_SECRET": SECRET,
    "INTACCT_COMPANY_ID": "acme",
    "INTACCT_USER_ID": "ws_sync",
}


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "credentials.ini"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_the_protocol_is_the_argument_then_the_variable_then_the_profile_then_xml(
    tmp_path: Path,
) -> None:
    profile = _profile(tmp_path, "[default]\nprotocol = REST\n")
    none = tmp_path / "missing.ini"
    assert resolve_protocol(environ={}, profile_file=none) == "xml"
    assert resolve_protocol(environ={}, profile_file=profile) == "rest"
    assert resolve_protocol(environ={"INTACCT_PROTOCOL": "xml"}, profile_file=profile) == "xml"
    assert resolve_protocol("rest", environ={"INTACCT_PROTOCOL": "xml"}) == "rest"
    with pytest.raises(ConfigError, match=r"protocol in \[default\] of .* must be"):
        resolve_protocol(environ={}, profile_file=_profile(tmp_path, "[default]\nprotocol=soap\n"))


def test_from_env_builds_a_rest_client_from_the_variables(tmp_path: Path) -> None:
    env = {**REST, "INTACCT_PROTOCOL": "rest", "INTACCT_ENTITY_ID": "EAST"}
    with IntacctClient.from_env(environ=env, profile_file=tmp_path / "none.ini") as ia:
        assert ia.protocol == "rest"
        assert ia.rest_credentials == IntacctRestCredentials(
            client_id="app-id",
            client_secret=SECRET,
            company_id="acme",
            user_id="ws_sync",
            entity_id="EAST",
        )
        assert (ia.company_id, ia.entity_id, ia.batch_size, ia.page_size) == (
            "acme",
            "EAST",
            500,
            2000,
        )
        assert ia.rest_backend.entity_id == "EAST"  # sent as the entity header
        shown = repr(ia) + repr(ia.rest_credentials) + repr(ia.rest_backend)
    assert SECRET not in shown and "acme" in shown


def test_the_rest_settings_come_from_the_profile_with_the_arguments_first(tmp_path: Path) -> None:
    profile = _profile(
        tmp_path,
        "[default]\nprotocol = rest\nclient_id = from-file\nclient_secret = s3\n"
        "company_id = acme\nuser_id = ws\nentity_in_token = yes\nentity_id = WEST\n"
        f"token_cache = {tmp_path / 'tokens.json'}\n",
    )
    with IntacctClient.from_env(environ={}, profile_file=profile, client_id="given") as ia:
        c = ia.rest_credentials
        assert c is not None
        assert (c.client_id, c.client_secret, c.entity_in_token) == ("given", "s3", True)
        assert c.token_cache == str(tmp_path / "tokens.json")
        # an entity token: user@company|entity (§2.3), and no entity header besides
        assert ia.rest_backend.entity_id is None
        grant = ia.rest_backend.oauth.grant
        assert isinstance(grant, ClientCredentials) and grant.username == "ws@acme|WEST"


def test_the_token_cache_follows_the_grant_unless_named() -> None:
    job = IntacctClient(protocol="rest", client_id="a", company_id="c", user_id="u")
    assert job.rest_backend.oauth._cache is None  # client credentials: ask again, keep nothing
    kept = IntacctClient(
        protocol="rest", client_id="a", company_id="c", user_id="u", token_cache="/tmp/t.json"
    )
    assert isinstance(kept.rest_backend.oauth._cache, FileTokenCache)
    person = IntacctClient(
        protocol="rest",
        client_id="a",
        grant=AuthorizationCode(interactive=False),
        token_cache="memory",
    )
    assert person.rest_backend.oauth._cache is None
    assert isinstance(person.rest_backend.oauth.grant, AuthorizationCode)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"protocol": "rest", "company_id": "c", "user_id": "u"}, "client_id"),
        ({"protocol": "rest", "client_id": "a", "user_id": "u"}, "company_id="),
        ({"protocol": "rest", "client_id": "a", "grant": "password"}, "grant must be"),
        (
            {
                "protocol": "rest",
                "client_id": "a",
                "company_id": "c",
                "user_id": "u",
                "sender_password": SECRET,
            },
            "XML gateway settings",
        ),
        (
            {
                "sender_id": "s",
                "sender_password": "p",
                "company_id": "c",
                "user_id": "u",
                "user_password": "p",
                "client_secret": SECRET,
            },
            "pass protocol='rest'",
        ),
        ({"protocol": "soap"}, "protocol must be"),
    ],
)
def test_settings_of_the_other_protocol_or_missing_ones_are_refused_by_name(
    kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        IntacctClient(**kwargs)  # type: ignore[arg-type]
    assert SECRET not in str(caught.value)


def test_a_missing_client_id_names_the_variable_and_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"INTACCT_CLIENT_ID.*profile \[default\]"):
        IntacctClient.from_env(environ={"INTACCT_PROTOCOL": "rest"}, profile_file=tmp_path / "x")


def test_xml_only_settings_stay_xml(tmp_path: Path) -> None:
    xml = IntacctClient(
        sender_id="s", sender_password="p", company_id="c", user_id="u", user_password="q"
    )
    assert xml.protocol == "xml" and xml.rest_credentials is None and xml.batch_size == 100
    with pytest.raises(ConfigError, match="rest_backend needs protocol='rest'"):
        _ = xml.rest_backend
