"""Credentials files: no secret in any config error, loose permissions warned, keyring values."""

from __future__ import annotations

import os
import sys
import types
import warnings
from pathlib import Path

import pytest

from intacct_sync.config import InsecureCredentialsWarning, IntacctCredentials
from intacct_sync.errors import ConfigError

PASSWORD = "file-pw-5d1e0c9a7b"
ENV = {"INTACCT_COMPANY_ID": "env-company"}

pytestmark = pytest.mark.skipif(os.name != "posix", reason="mode bits are POSIX")


def profile(path: Path, body: str, mode: int = 0o600) -> Path:
    path.write_text(body, encoding="utf-8")
    path.chmod(mode)
    return path


FULL = (
    "[default]\nsender_id = s\nsender_password = {sender}\ncompany_id = c\nuser_id = u\n"
    "user_password = {user}\n"
)


@pytest.mark.parametrize(
    "body",
    [
        f"sender_password = {PASSWORD}\n",  # before any section header
        f"[default]\nsender_id = s\nthis line has no equals sign {PASSWORD}\n",
        f"[default]\nsender_password = {PASSWORD}\nsender_password = {PASSWORD}\n",
        f"[default]\nuser_id = u\n[default]\nuser_password = {PASSWORD}\n",
    ],
    ids=["no-header", "no-equals", "duplicate-key", "duplicate-section"],
)
def test_a_malformed_profile_is_reported_by_line_without_its_contents(
    tmp_path: Path, body: str
) -> None:
    path = profile(tmp_path / "credentials.ini", body)
    with pytest.raises(ConfigError, match="cannot read") as info:
        IntacctCredentials.resolve(environ=ENV, profile_file=path)
    text = f"{info.value} {info.value!r} {info.value.args!r}"
    assert PASSWORD not in text
    assert "line" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_url_with_userinfo_is_never_quoted(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        IntacctCredentials.resolve(
            environ=ENV,
            profile_file=tmp_path / "absent.ini",
            sender_id="s",
            sender_password="p" * 8,
            user_id="u",
            user_password="q" * 8,
            endpoint_url=f"ftp://user:{PASSWORD}@api.intacct.com/x",
        )
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o666])
def test_a_file_others_may_read_or_write_warns(tmp_path: Path, mode: int) -> None:
    path = profile(tmp_path / "credentials.ini", FULL.format(sender="a" * 8, user="b" * 8), mode)
    with pytest.warns(InsecureCredentialsWarning, match="chmod 600") as caught:
        creds = IntacctCredentials.resolve(environ=ENV, profile_file=path)
    assert creds.sender_id == "s"  # a warning, the file is still read
    assert f"{mode:o}" in str(caught[0].message)
    assert "a" * 8 not in str(caught[0].message)


def test_a_private_file_reads_without_a_word(tmp_path: Path) -> None:
    path = profile(tmp_path / "credentials.ini", FULL.format(sender="a" * 8, user="b" * 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        IntacctCredentials.resolve(environ=ENV, profile_file=path)


def test_the_warning_can_be_made_an_error_by_filter_or_variable(tmp_path: Path) -> None:
    path = profile(tmp_path / "credentials.ini", FULL.format(sender="a" * 8, user="b" * 8), 0o644)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureCredentialsWarning)
        with pytest.raises(InsecureCredentialsWarning):
            IntacctCredentials.resolve(environ=ENV, profile_file=path)
    strict = {**ENV, "INTACCT_SYNC_STRICT_PERMISSIONS": "1"}
    with pytest.raises(ConfigError, match="INTACCT_SYNC_STRICT_PERMISSIONS"):
        IntacctCredentials.resolve(environ=strict, profile_file=path)


class FakeKeyring(types.ModuleType):
    """Stands in for the ``keyring`` package: a dict of (service, user) -> secret."""

    def __init__(self, entries: dict[tuple[str, str], str], fail: bool = False) -> None:
        super().__init__("keyring")
        self.entries = entries
        self.fail = fail
        self.asked: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.asked.append((service, username))
        if self.fail:
            raise RuntimeError(f"backend locked; asked for {service} {username} {PASSWORD}")
        return self.entries.get((service, username))


def test_keyring_values_are_read_from_the_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeKeyring(
        {("intacct_sync", "default/sender_password"): "kr-sender", ("vault", "me@c"): "kr-user"}
    )
    monkeypatch.setitem(sys.modules, "keyring", fake)
    path = profile(
        tmp_path / "credentials.ini", FULL.format(sender="keyring:", user="keyring:vault/me@c")
    )
    creds = IntacctCredentials.resolve(environ=ENV, profile_file=path)
    assert (creds.sender_password, creds.user_password) == ("kr-sender", "kr-user")
    assert fake.asked == [("intacct_sync", "default/sender_password"), ("vault", "me@c")]


def test_keyring_failures_are_config_errors_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = profile(tmp_path / "credentials.ini", FULL.format(sender="keyring:", user="b" * 8))
    monkeypatch.setitem(sys.modules, "keyring", FakeKeyring({}))
    with pytest.raises(ConfigError, match=r"no keyring entry.*default/sender_password"):
        IntacctCredentials.resolve(environ=ENV, profile_file=path)
    monkeypatch.setitem(sys.modules, "keyring", FakeKeyring({}, fail=True))
    with pytest.raises(ConfigError, match="keyring failed") as info:
        IntacctCredentials.resolve(environ=ENV, profile_file=path)
    assert PASSWORD not in str(info.value)
    monkeypatch.setitem(sys.modules, "keyring", None)  # not installed: import fails
    with pytest.raises(ConfigError, match=r"pip install 'intacct-sync\[keyring\]'"):
        IntacctCredentials.resolve(environ=ENV, profile_file=path)
    bad = profile(tmp_path / "bad.ini", FULL.format(sender="keyring:only-service", user="x" * 8))
    with pytest.raises(ConfigError, match="SERVICE/USERNAME"):
        IntacctCredentials.resolve(environ=ENV, profile_file=bad)
