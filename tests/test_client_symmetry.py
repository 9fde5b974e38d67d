"""Both clients take the same options, write with the same signatures and honour the same
context-manager contract; old call forms still work for one release and warn; a fully
specified ``IntacctClient`` uses exactly what it is given, whatever the environment says."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TypedDict

import pandas as pd
import pytest

from intacct_sync import IntacctClient, SalesforceClient, sandbox
from intacct_sync._http.base import ClientBase
from intacct_sync.errors import ConfigError
from intacct_sync.testing import MockTransport
from tests.builders import balanced_entry

SHARED_OPTIONS = ("transport", "timeout", "retry", "sleep")


class _Credentials(TypedDict):
    sender_id: str
    sender_password: str
    company_id: str
    user_id: str
    user_password: str


CREDENTIALS: _Credentials = {
    "sender_id": "sender",
    "sender_password": "sender-secret",
    "company_id": "co",
    "user_id": "user",
    "user_password": "user-secret",
}


def _params(method: object) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(method).parameters)  # type: ignore[arg-type]


def test_both_clients_share_the_client_base() -> None:
    assert issubclass(IntacctClient, ClientBase)
    assert issubclass(SalesforceClient, ClientBase)


@pytest.mark.parametrize("name", SHARED_OPTIONS)
def test_the_shared_constructor_options_have_the_same_name_kind_and_default(name: str) -> None:
    ia, sf = _params(IntacctClient.__init__)[name], _params(SalesforceClient.__init__)[name]
    base = _params(ClientBase.__init__)[name]
    assert ia.kind is sf.kind is inspect.Parameter.KEYWORD_ONLY
    assert ia.default is sf.default is base.default


@pytest.mark.parametrize("name", SHARED_OPTIONS)
def test_intacct_from_env_takes_the_shared_options_typed(name: str) -> None:
    params = _params(IntacctClient.from_env)
    assert params[name].default is _params(IntacctClient.__init__)[name].default
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


@pytest.mark.parametrize(
    ("method", "leading"),
    [
        ("create", ["object", "records"]),
        ("update", ["object", "records"]),
        ("delete", ["object", "ids"]),
    ],
)
def test_write_methods_take_the_object_first_on_both_clients(
    method: str, leading: list[str]
) -> None:
    for client in (IntacctClient, SalesforceClient):
        params = _params(getattr(client, method))
        names = [n for n in params if n != "self"]
        assert names[:2] == leading, (client.__name__, names)
        assert "progress" in params
        assert params["progress"].kind is inspect.Parameter.KEYWORD_ONLY
        if method != "delete":
            assert params["keys"].kind is inspect.Parameter.KEYWORD_ONLY
        assert inspect.signature(getattr(client, method)).return_annotation == "pd.DataFrame"


def test_both_clients_close_a_transport_they_made_and_never_one_they_were_given() -> None:
    given = MockTransport(lambda request: pytest.fail("nothing is sent"))
    closed: list[str] = []
    given.close = lambda: closed.append("given")  # type: ignore[method-assign]
    with IntacctClient(**CREDENTIALS, transport=given) as ia:
        assert isinstance(ia, IntacctClient)
    with SalesforceClient("https://acme.my.salesforce.com", "token", transport=given) as sf:
        assert isinstance(sf, SalesforceClient)
    assert closed == []
    made = IntacctClient(**CREDENTIALS)
    owned = made._transport
    shut: list[str] = []
    owned.close = lambda: shut.append("owned")  # type: ignore[method-assign]
    with made:
        pass
    assert shut == ["owned"]


# -- a fully specified IntacctClient ignores the environment ------------------------------------


def test_a_fully_specified_client_ignores_intacct_profile_and_every_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Before, INTACCT_PROFILE naming a missing section made this constructor raise ConfigError.
    monkeypatch.setenv("INTACCT_PROFILE", "no-such-profile")
    monkeypatch.setenv("INTACCT_PROFILE_FILE", str(tmp_path / "absent.ini"))
    monkeypatch.setenv("INTACCT_COMPANY_ID", "env-company")
    monkeypatch.setenv("INTACCT_ENTITY_ID", "ENV-ENTITY")
    monkeypatch.setenv("INTACCT_ENDPOINT_URL", "https://env.example.test/ia/xml/xmlgw.phtml")
    ia = IntacctClient(**CREDENTIALS)
    assert ia.credentials.company_id == "co"
    assert ia.credentials.entity_id is None
    assert ia.credentials.endpoint_url == "https://api.intacct.com/ia/xml/xmlgw.phtml"


def test_an_empty_company_id_is_an_error_not_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTACCT_COMPANY_ID", "env-company")
    with pytest.raises(ConfigError, match="company_id=") as info:
        IntacctClient(
            sender_id="sender",
            sender_password="sender-secret",
            company_id="",
            user_id="user",
            user_password="user-secret",
        )
    assert "env-company" not in str(info.value)


def test_a_missing_credential_names_the_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTACCT_USER_PASSWORD", "env-password")
    with pytest.raises(ConfigError, match=r"user_password=") as info:
        IntacctClient(
            sender_id="sender", sender_password="sender-secret", company_id="co", user_id="user"
        )
    assert "sender_id=" not in str(info.value)


def test_from_env_resolves_arguments_then_variables_then_the_profile(tmp_path: Path) -> None:
    profiles = tmp_path / "credentials.ini"
    profiles.write_text(
        "[east]\nsender_id = file-sender\nsender_password = file-pw\ncompany_id = file-co\n"
        "user_id = file-user\nuser_password = file-user-pw\nentity_id = EAST\n",
        encoding="utf-8",
    )
    profiles.chmod(0o600)
    ia = IntacctClient.from_env(
        profile="east",
        profile_file=profiles,
        environ={"INTACCT_COMPANY_ID": "env-co"},
        user_id="arg-user",
        sleep=lambda _: None,
        batch_size=7,
    )
    c = ia.credentials
    assert (c.sender_id, c.company_id, c.user_id, c.entity_id) == (
        "file-sender",
        "env-co",
        "arg-user",
        "EAST",
    )
    assert ia.batch_size == 7


def test_from_env_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="INTACCT_SENDER_ID"):
        IntacctClient.from_env(environ={}, profile_file=tmp_path / "absent.ini")


def test_the_profile_keyword_of_the_constructor_is_deprecated(tmp_path: Path) -> None:
    profiles = tmp_path / "credentials.ini"
    profiles.write_text(
        "[p]\nsender_id = s\nsender_password = sp\ncompany_id = c\nuser_id = u\n"
        "user_password = up\n",
        encoding="utf-8",
    )
    profiles.chmod(0o600)
    with pytest.warns(DeprecationWarning, match=r"from_env\(profile="):
        ia = IntacctClient(profile="p", profile_file=str(profiles))
    assert ia.credentials.company_id == "c"


# -- old call forms against the sandbox ---------------------------------------------------------


def test_old_intacct_write_forms_warn_and_write_once(shared_sb: sandbox.Sandbox) -> None:
    ia = shared_sb.intacct_client()
    entry = balanced_entry("symmetry-old-form", title="Old call form")
    with pytest.warns(DeprecationWarning, match=r"ia\.create\(object, records\)"):
        first = ia.create([entry])
    again = ia.create("GLBATCH", [entry])
    assert first["done"].all() and again["done"].all()
    # The same control id: the new form recognises what the old one wrote.
    assert first["control_id"].tolist() == again["control_id"].tolist()
    assert again["status"].tolist() != first["status"].tolist()
    assert isinstance(first, pd.DataFrame)
    ia.close()


def test_old_salesforce_delete_form_warns_and_deletes(shared_sb: sandbox.Sandbox) -> None:
    with shared_sb.salesforce_client() as sf:
        created = sf.create("Account", [{"Name": "symmetry-a"}, {"Name": "symmetry-b"}])
        ids = created["id"].tolist()
        with pytest.warns(DeprecationWarning, match=r"sf\.delete\(object, ids\)"):
            deleted = sf.delete(ids, sobject="Account")
        assert deleted["done"].all()
        assert sf.query("SELECT Id FROM Account WHERE Name LIKE 'symmetry-%'").empty
