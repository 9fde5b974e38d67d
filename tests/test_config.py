"""Credential resolution: explicit arguments, then the environment, then the profile file."""

from __future__ import annotations

from pathlib import Path

import pytest

from intacct_sync.config import DEFAULT_INTACCT_ENDPOINT, IntacctCredentials, SalesforceCredentials
from intacct_sync.errors import ConfigError

FULL_ENV = {
    "INTACCT_SENDER_ID": "env-sender",
    "INTACCT_SENDER_PASSWORD": "env-sender-pw",
    "INTACCT_COMPANY_ID": "env-company",
    "INTACCT_USER_ID": "env-user",
    "INTACCT_USER_PASSWORD": "env-user-pw",
}


def write_profiles(path: Path) -> Path:
    path.write_text(
        "[default]\n"
        "sender_id = file-sender\n"
        "sender_password = file-sender-pw\n"
        "company_id = file-company\n"
        "user_id = file-user\n"
        "user_password = file-user-pw%not-interpolated\n"
        "\n"
        "[other]\n"
        "sender_id = other-sender\n"
        "sender_password = other-sender-pw\n"
        "company_id = other-company\n"
        "user_id = other-user\n"
        "user_password = other-user-pw\n"
        "entity_id = EAST\n"
        "endpoint_url = https://other.example.test/ia/xml/xmlgw.phtml\n",
        encoding="utf-8",
    )
    path.chmod(0o600)  # a group- or world-readable file warns (tests/test_security_config.py)
    return path


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    return write_profiles(tmp_path / "credentials.ini")


@pytest.fixture
def no_file(tmp_path: Path) -> Path:
    return tmp_path / "absent.ini"


def test_environment_only(no_file: Path) -> None:
    creds = IntacctCredentials.resolve(environ=FULL_ENV, profile_file=no_file)
    assert creds.sender_id == "env-sender"
    assert creds.sender_password == "env-sender-pw"
    assert creds.company_id == "env-company"
    assert creds.user_id == "env-user"
    assert creds.user_password == "env-user-pw"
    assert creds.entity_id is None
    assert creds.endpoint_url == DEFAULT_INTACCT_ENDPOINT


def test_profile_file_only(profiles: Path) -> None:
    creds = IntacctCredentials.resolve(environ={}, profile_file=profiles)
    assert (creds.sender_id, creds.company_id, creds.user_id) == (
        "file-sender",
        "file-company",
        "file-user",
    )
    # Values are read literally: no configparser interpolation of "%".
    assert creds.user_password == "file-user-pw%not-interpolated"


def test_explicit_beats_environment_beats_file(profiles: Path) -> None:
    env = {"INTACCT_SENDER_ID": "env-sender", "INTACCT_COMPANY_ID": "env-company"}
    creds = IntacctCredentials.resolve(
        environ=env, profile_file=profiles, sender_id="arg-sender", user_id="arg-user"
    )
    assert creds.sender_id == "arg-sender"  # argument over variable and file
    assert creds.user_id == "arg-user"  # argument over file
    assert creds.company_id == "env-company"  # variable over file
    assert creds.sender_password == "file-sender-pw"  # file when nothing else
    assert creds.user_password == "file-user-pw%not-interpolated"


def test_none_arguments_fall_through(no_file: Path) -> None:
    creds = IntacctCredentials.resolve(environ=FULL_ENV, profile_file=no_file, sender_id=None)
    assert creds.sender_id == "env-sender"


def test_empty_variables_count_as_unset(profiles: Path) -> None:
    creds = IntacctCredentials.resolve(
        environ={"INTACCT_SENDER_ID": "", "INTACCT_ENTITY_ID": ""}, profile_file=profiles
    )
    assert creds.sender_id == "file-sender"
    assert creds.entity_id is None


def test_intacct_profile_variable_selects_a_section(profiles: Path) -> None:
    creds = IntacctCredentials.resolve(environ={"INTACCT_PROFILE": "other"}, profile_file=profiles)
    assert creds.sender_id == "other-sender"
    assert creds.entity_id == "EAST"
    assert creds.endpoint_url == "https://other.example.test/ia/xml/xmlgw.phtml"


def test_profile_argument_beats_the_variable(profiles: Path) -> None:
    creds = IntacctCredentials.resolve(
        environ={"INTACCT_PROFILE": "other"}, profile_file=profiles, profile="default"
    )
    assert creds.sender_id == "file-sender"


def test_intacct_profile_file_variable_names_the_file(profiles: Path) -> None:
    creds = IntacctCredentials.resolve(environ={"INTACCT_PROFILE_FILE": str(profiles)})
    assert creds.sender_id == "file-sender"


def test_environment_overrides_a_selected_profile(profiles: Path) -> None:
    env = {"INTACCT_PROFILE": "other", "INTACCT_ENTITY_ID": "WEST"}
    creds = IntacctCredentials.resolve(environ=env, profile_file=profiles)
    assert creds.entity_id == "WEST"
    assert creds.company_id == "other-company"


def test_missing_value_names_argument_variable_and_file(no_file: Path) -> None:
    env = {k: v for k, v in FULL_ENV.items() if k != "INTACCT_USER_PASSWORD"}
    with pytest.raises(ConfigError) as info:
        IntacctCredentials.resolve(environ=env, profile_file=no_file)
    message = str(info.value)
    assert "user_password=" in message
    assert "INTACCT_USER_PASSWORD" in message
    assert str(no_file) in message
    assert "file not found" in message
    assert "[default]" in message
    # Only what is missing is named.
    assert "INTACCT_SENDER_ID" not in message


def test_missing_values_with_an_existing_file_name_the_section(profiles: Path) -> None:
    profiles.write_text("[default]\nsender_id = s\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        IntacctCredentials.resolve(environ={}, profile_file=profiles)
    message = str(info.value)
    for name in ("sender_password", "company_id", "user_id", "user_password"):
        assert f"{name}=" in message
        assert f"INTACCT_{name.upper()}" in message
    assert "sender_id=" not in message
    assert f"[default] of {profiles}" in message
    assert "file not found" not in message


def test_missing_everything_is_a_config_error_and_a_value_error(no_file: Path) -> None:
    with pytest.raises(ValueError, match="missing Intacct credential"):
        IntacctCredentials.resolve(environ={}, profile_file=no_file)


def test_requested_section_not_in_file(profiles: Path) -> None:
    with pytest.raises(ConfigError, match=r"profile \[nope\] not found in .*credentials\.ini"):
        IntacctCredentials.resolve(environ=FULL_ENV, profile_file=profiles, profile="nope")


def test_section_from_variable_not_in_file(profiles: Path) -> None:
    with pytest.raises(ConfigError, match=r"profile \[nope\] not found"):
        IntacctCredentials.resolve(
            environ={**FULL_ENV, "INTACCT_PROFILE": "nope"}, profile_file=profiles
        )


def test_explicit_profile_needs_the_file(no_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"profile \[other\] requested but .*absent\.ini"):
        IntacctCredentials.resolve(environ=FULL_ENV, profile_file=no_file, profile="other")


def test_missing_default_section_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "credentials.ini"
    path.write_text("[other]\nsender_id = x\n", encoding="utf-8")
    path.chmod(0o600)
    creds = IntacctCredentials.resolve(environ=FULL_ENV, profile_file=path)
    assert creds.sender_id == "env-sender"


def test_unreadable_profile_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials.ini"
    path.write_text("sender_id = no section header\n", encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="cannot read"):
        IntacctCredentials.resolve(environ=FULL_ENV, profile_file=path)


def test_unknown_setting_names(no_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown Intacct setting.*company, senderid"):
        IntacctCredentials.resolve(
            environ=FULL_ENV, profile_file=no_file, senderid="x", company="y"
        )


@pytest.mark.parametrize(
    "url",
    ["ftp://api.intacct.com/ia/xml/xmlgw.phtml", "api.intacct.com/ia/xml", "https://", "not a url"],
)
def test_bad_endpoint_url(no_file: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="endpoint_url must be an http"):
        IntacctCredentials.resolve(environ=FULL_ENV, profile_file=no_file, endpoint_url=url)


def test_bad_endpoint_url_from_the_environment(no_file: Path) -> None:
    env = {**FULL_ENV, "INTACCT_ENDPOINT_URL": "gopher://example.test"}
    with pytest.raises(ConfigError, match="gopher"):
        IntacctCredentials.resolve(environ=env, profile_file=no_file)


def test_http_loopback_endpoint_is_accepted(no_file: Path) -> None:
    url = "http://127.0.0.1:8080/ia/xml/xmlgw.phtml"
    creds = IntacctCredentials.resolve(environ=FULL_ENV, profile_file=no_file, endpoint_url=url)
    assert creds.endpoint_url == url


def test_repr_hides_both_passwords(no_file: Path) -> None:
    creds = IntacctCredentials.resolve(environ=FULL_ENV, profile_file=no_file)
    text = repr(creds)
    assert "env-sender-pw" not in text
    assert "env-user-pw" not in text
    assert "env-sender" in text
    assert "env-company" in text
    assert "sender_password" not in text
    assert "user_password" not in text


def test_the_real_home_directory_is_never_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # With HOME pointed at an empty directory, the default file does not exist and is skipped.
    monkeypatch.setenv("HOME", str(tmp_path))
    creds = IntacctCredentials.resolve(environ=FULL_ENV)
    assert creds.sender_id == "env-sender"


SF_ENV = {
    "SF_INSTANCE_URL": "https://example.my.salesforce.com",
    "SF_ACCESS_TOKEN": "00Dxx!secret-access-token",
    "SF_CLIENT_ID": "client-id-3MVG9",
    "SF_CLIENT_SECRET": "secret-client-secret",
    "SF_USERNAME": "integration@example.test",
    "SF_PRIVATE_KEY_FILE": "/keys/server.key",
    "SF_REFRESH_TOKEN": "secret-refresh-token",
    "SF_LOGIN_URL": "https://login.salesforce.com",
    "SF_API_VERSION": "62.0",
}


def test_salesforce_from_env_reads_every_variable() -> None:
    creds = SalesforceCredentials.from_env(SF_ENV)
    assert creds.instance_url == "https://example.my.salesforce.com"
    assert creds.access_token == "00Dxx!secret-access-token"
    assert creds.client_id == "client-id-3MVG9"
    assert creds.client_secret == "secret-client-secret"
    assert creds.username == "integration@example.test"
    assert creds.private_key_file == "/keys/server.key"
    assert creds.refresh_token == "secret-refresh-token"
    assert creds.login_url == "https://login.salesforce.com"
    assert creds.api_version == "62.0"


def test_salesforce_from_env_missing_and_empty_are_none() -> None:
    creds = SalesforceCredentials.from_env({"SF_ACCESS_TOKEN": ""})
    assert creds == SalesforceCredentials()
    assert creds.access_token is None


def test_salesforce_repr_hides_secrets() -> None:
    text = repr(SalesforceCredentials.from_env(SF_ENV))
    for secret in ("secret-access-token", "secret-client-secret", "secret-refresh-token"):
        assert secret not in text
    assert "example.my.salesforce.com" in text
    assert "client-id-3MVG9" in text


# -- explicit credentials: exactly what is given ------------------------------------------------

EXPLICIT = {
    "sender_id": "arg-sender",
    "sender_password": "arg-sender-pw",
    "company_id": "arg-company",
    "user_id": "arg-user",
    "user_password": "arg-user-pw",
}


def test_explicit_credentials_never_read_the_environment_or_a_profile(
    monkeypatch: pytest.MonkeyPatch, profiles: Path
) -> None:
    # A profile that does not exist would make resolve() raise; the explicit path never looks.
    monkeypatch.setenv("INTACCT_PROFILE", "nope")
    monkeypatch.setenv("INTACCT_PROFILE_FILE", str(profiles))
    monkeypatch.setenv("INTACCT_ENTITY_ID", "ENV-ENTITY")
    monkeypatch.setenv("INTACCT_ENDPOINT_URL", "https://env.example.test/gw")
    creds = IntacctCredentials(**EXPLICIT)
    assert (creds.company_id, creds.entity_id, creds.endpoint_url) == (
        "arg-company",
        None,
        DEFAULT_INTACCT_ENDPOINT,
    )


@pytest.mark.parametrize("name", sorted(EXPLICIT))
def test_an_empty_explicit_credential_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(f"INTACCT_{name.upper()}", "from-the-environment")
    with pytest.raises(ConfigError, match=f"{name}=") as info:
        IntacctCredentials(**{**EXPLICIT, name: ""})
    others = [n for n in EXPLICIT if n != name]
    assert not any(f"{n}=" in str(info.value) for n in others)


def test_an_empty_explicit_entity_is_the_top_level() -> None:
    assert IntacctCredentials(**EXPLICIT, entity_id="").entity_id is None


def test_an_explicit_endpoint_must_be_an_http_url() -> None:
    with pytest.raises(ConfigError, match="endpoint_url must be an http"):
        IntacctCredentials(**EXPLICIT, endpoint_url="ftp://api.intacct.com/")
