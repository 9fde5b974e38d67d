"""Credentials and profiles for both systems.

Two ways in, kept apart so that a fully specified client never looks anywhere else:

- ``IntacctCredentials(...)`` takes exactly the values it is given and checks them; it never
  reads the environment or a file (what ``IntacctClient(...)`` uses).
- :meth:`IntacctCredentials.resolve` looks the values up the way the official SDKs do it:
  explicit arguments first, then the ``INTACCT_*`` environment variables, then a profile of
  ``~/.intacct/credentials.ini`` (section ``INTACCT_PROFILE``, default ``default``); what
  ``IntacctClient.from_env()`` uses.

Secrets are kept out of every ``repr`` and every error message (a malformed profile line is
reported by its number, never quoted). A profile file that its owner's group or others may read
or write raises :class:`InsecureCredentialsWarning` (an error with
``INTACCT_SYNC_STRICT_PERMISSIONS=1`` or ``warnings.simplefilter("error",
InsecureCredentialsWarning)``). A profile value ``keyring:`` (or ``keyring:SERVICE/USERNAME``)
is read from the OS keyring through the optional ``keyring`` package
(``pip install intacct-sync[keyring]``); see docs/configuration.md.
"""

from __future__ import annotations

import configparser
import importlib
import os
import re
import stat
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import urlsplit

import attrs

from intacct_sync.errors import ConfigError

__all__ = [
    "DEFAULT_INTACCT_ENDPOINT",
    "DEFAULT_INTACCT_REST_URL",
    "DEFAULT_PROFILE_FILE",
    "KEYRING_SERVICE",
    "InsecureCredentialsWarning",
    "IntacctCredentials",
    "IntacctProtocol",
    "IntacctRestCredentials",
    "OAuthGrant",
    "SalesforceCredentials",
    "resolve_protocol",
]

#: Keyring service of a bare ``keyring:`` profile value (the user name is ``PROFILE/KEY``).
KEYRING_SERVICE = "intacct_sync"
_KEYRING_PREFIX = "keyring:"
_STRICT_PERMISSIONS_VARIABLE = "INTACCT_SYNC_STRICT_PERMISSIONS"


class InsecureCredentialsWarning(UserWarning):
    """A credentials file can be read or written by users other than its owner.

    Make it an error with ``warnings.simplefilter("error", InsecureCredentialsWarning)`` or
    the environment variable ``INTACCT_SYNC_STRICT_PERMISSIONS=1``.
    """


DEFAULT_INTACCT_ENDPOINT = "https://api.intacct.com/ia/xml/xmlgw.phtml"
DEFAULT_PROFILE_FILE = Path("~/.intacct/credentials.ini")

# field -> (environment variable, key in the profile file)
_INTACCT_SOURCES: dict[str, tuple[str, str]] = {
    "sender_id": ("INTACCT_SENDER_ID", "sender_id"),
    "sender_password": ("INTACCT_SENDER_PASSWORD", "sender_password"),
    "company_id": ("INTACCT_COMPANY_ID", "company_id"),
    "entity_id": ("INTACCT_ENTITY_ID", "entity_id"),
    "user_id": ("INTACCT_USER_ID", "user_id"),
    "user_password": ("INTACCT_USER_PASSWORD", "user_password"),
    "endpoint_url": ("INTACCT_ENDPOINT_URL", "endpoint_url"),
}
_INTACCT_REQUIRED = ("sender_id", "sender_password", "company_id", "user_id", "user_password")


def _check_url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # userinfo may be a password: never quote it.
        shown = re.sub(r"//[^/?#]*@", "//<userinfo>@", value)
        raise ConfigError(f"{name} must be an http(s) URL, got {shown!r}")
    return value


def _no_empty(value: str | None) -> str | None:
    return value or None


@attrs.frozen(kw_only=True)
class IntacctCredentials:
    """Web Services sender and company user for the Intacct XML gateway.

    Built directly, it holds exactly the values given (an empty ``entity_id`` means the top
    level, like ``None``). ``endpoint_url`` defaults to Sage's gateway; the sandbox sets its
    loopback URL.

    Raises:
        ConfigError: a required value is missing or empty, or ``endpoint_url`` is not an
            http(s) URL; the message names the argument.
    """

    sender_id: str
    sender_password: str = attrs.field(repr=False)
    company_id: str
    user_id: str
    user_password: str = attrs.field(repr=False)
    entity_id: str | None = attrs.field(default=None, converter=_no_empty)
    endpoint_url: str = DEFAULT_INTACCT_ENDPOINT

    def __attrs_post_init__(self) -> None:
        # An empty value must never stand for "look elsewhere": that is resolve()'s job, and a
        # client built from explicit values signs in with exactly those.
        missing = [
            n
            for n in _INTACCT_REQUIRED
            if not isinstance(getattr(self, n), str) or not getattr(self, n)
        ]
        if missing:
            raise ConfigError(
                f"missing Intacct credential(s): {', '.join(f'{n}=' for n in missing)} "
                "(empty or not given; IntacctClient.from_env() reads the environment and "
                "profiles instead)"
            )
        _check_url(self.endpoint_url, "endpoint_url")

    @classmethod
    def resolve(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        profile_file: str | os.PathLike[str] | None = None,
        profile: str | None = None,
        **explicit: str | None,
    ) -> IntacctCredentials:
        """Resolve credentials from arguments, then environment, then the profile file.

        Args:
            environ: the environment to read (default ``os.environ``).
            profile_file: INI file with profiles (default ``~/.intacct/credentials.ini``).
            profile: section to read (default ``INTACCT_PROFILE`` or ``default``).
            **explicit: any of ``sender_id``, ``sender_password``, ``company_id``,
                ``entity_id``, ``user_id``, ``user_password``, ``endpoint_url``.

        Returns:
            The resolved credentials.

        Raises:
            ConfigError: a required value is found nowhere; the message names the argument,
                the environment variable and the file looked at.
        """
        unknown = set(explicit) - set(_INTACCT_SOURCES)
        if unknown:
            raise ConfigError(f"unknown Intacct setting(s): {', '.join(sorted(unknown))}")
        env = os.environ if environ is None else environ
        path = Path(
            profile_file or env.get("INTACCT_PROFILE_FILE") or DEFAULT_PROFILE_FILE
        ).expanduser()
        section_name = profile or env.get("INTACCT_PROFILE") or "default"
        section = _read_profile(
            path,
            section_name,
            required=profile is not None,
            strict=env.get(_STRICT_PERMISSIONS_VARIABLE, "") not in ("", "0"),
        )

        values: dict[str, str | None] = {}
        for name, (var, key) in _INTACCT_SOURCES.items():
            value = explicit.get(name) or None
            if value is None:
                value = env.get(var) or None
            if value is None:
                value = section.get(key) or None
            values[name] = value
        missing = [n for n in _INTACCT_REQUIRED if not values[n]]
        if missing:
            hints = ", ".join(
                f"{n} (argument {n}=, variable {_INTACCT_SOURCES[n][0]})" for n in missing
            )
            raise ConfigError(
                f"missing Intacct credential(s): {hints}; also looked in profile "
                f"[{section_name}] of {path}" + ("" if path.exists() else " (file not found)")
            )
        endpoint = values["endpoint_url"] or DEFAULT_INTACCT_ENDPOINT
        return cls(
            sender_id=str(values["sender_id"]),
            sender_password=str(values["sender_password"]),
            company_id=str(values["company_id"]),
            user_id=str(values["user_id"]),
            user_password=str(values["user_password"]),
            entity_id=values["entity_id"],
            endpoint_url=_check_url(endpoint, "endpoint_url"),
        )


#: The two wire protocols of Sage Intacct (``docs/xml-or-rest.md``).
IntacctProtocol = Literal["xml", "rest"]
#: The OAuth 2.0 grants of the REST API (reference ``intacct-rest-api.md`` §2.2).
OAuthGrant = Literal["client_credentials", "authorization_code"]
DEFAULT_INTACCT_REST_URL = "https://api.intacct.com/ia/api/v1"
_TRUE = ("1", "true", "yes", "on")

# field -> (environment variable, key in the profile file), for the REST API with OAuth 2.0
_REST_SOURCES: dict[str, tuple[str, str]] = {
    "client_id": ("INTACCT_CLIENT_ID", "client_id"),
    "client_secret": ("INTACCT_CLIENT_SECRET", "client_secret"),
    "company_id": ("INTACCT_COMPANY_ID", "company_id"),
    "user_id": ("INTACCT_USER_ID", "user_id"),
    "entity_id": ("INTACCT_ENTITY_ID", "entity_id"),
    "grant": ("INTACCT_OAUTH_GRANT", "grant"),
    "token_cache": ("INTACCT_TOKEN_CACHE", "token_cache"),
    "rest_url": ("INTACCT_REST_URL", "rest_url"),
    "entity_in_token": ("INTACCT_ENTITY_IN_TOKEN", "entity_in_token"),
}


def _profile(
    environ: Mapping[str, str] | None,
    profile_file: str | os.PathLike[str] | None,
    profile: str | None,
) -> tuple[Mapping[str, str], Path, str, Mapping[str, str]]:
    env = os.environ if environ is None else environ
    path = Path(
        profile_file or env.get("INTACCT_PROFILE_FILE") or DEFAULT_PROFILE_FILE
    ).expanduser()
    section_name = profile or env.get("INTACCT_PROFILE") or "default"
    section = _read_profile(
        path,
        section_name,
        required=profile is not None,
        strict=env.get(_STRICT_PERMISSIONS_VARIABLE, "") not in ("", "0"),
    )
    return env, path, section_name, section


def resolve_protocol(
    protocol: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    profile_file: str | os.PathLike[str] | None = None,
    profile: str | None = None,
) -> IntacctProtocol:
    """The protocol to speak: the argument, else ``INTACCT_PROTOCOL``, else the profile's
    ``protocol`` key, else ``xml``.

    Args:
        protocol: ``"xml"`` or ``"rest"`` (any case); None to look it up.
        environ: the variables to read (default: ``os.environ``).
        profile_file: the profile file (default: ``INTACCT_PROFILE_FILE``, else
            :data:`DEFAULT_PROFILE_FILE`).
        profile: the profile section to read.

    Returns:
        ``"xml"`` or ``"rest"``.

    Raises:
        ConfigError: the value is neither ``xml`` nor ``rest`` (the message names where it
            was found).
    """
    where = "protocol="
    value = protocol or None
    if value is None:
        env = os.environ if environ is None else environ
        value, where = env.get("INTACCT_PROTOCOL") or None, "INTACCT_PROTOCOL"
        if value is None:
            _, path, name, section = _profile(environ, profile_file, profile)
            value, where = section.get("protocol") or None, f"protocol in [{name}] of {path}"
    if value is None:
        return "xml"
    text = value.strip().lower()
    if text not in get_args(IntacctProtocol):
        raise ConfigError(f"{where} must be 'xml' or 'rest', got {value!r}")
    return "rest" if text == "rest" else "xml"


@attrs.frozen(kw_only=True)
class IntacctRestCredentials:
    """An OAuth 2.0 application and sign-in for the Intacct REST API (reference §2).

    Attributes:
        client_id: the application's client id (Sage App Registry, §2.1).
        client_secret: its secret (never in a repr; omit for a public client using PKCE).
        company_id: the company (client credentials: ``user@company``).
        user_id: the Web Services user (client credentials).
        entity_id: scope requests to this entity (the entity header, §2.3).
        grant: ``client_credentials`` (a job) or ``authorization_code`` (a person, browser).
        token_cache: where tokens persist: a file path, ``keyring``, ``memory``; unset: memory
            for client credentials, the keyring or ``~/.intacct/rest-tokens.json`` for the
            authorization code (its refresh token must survive, §2.4).
        rest_url: the API base (``https://api.intacct.com/ia/api/v1``).
        entity_in_token: mint the token for the entity (``user@company|entity``) instead of
            sending the entity header.

    Raises:
        ConfigError: ``client_id`` is missing, client credentials lack the company or user,
            the grant is unknown, or ``rest_url`` is not an http(s) URL.
    """

    client_id: str
    client_secret: str | None = attrs.field(default=None, repr=False, converter=_no_empty)
    company_id: str | None = attrs.field(default=None, converter=_no_empty)
    user_id: str | None = attrs.field(default=None, converter=_no_empty)
    entity_id: str | None = attrs.field(default=None, converter=_no_empty)
    grant: OAuthGrant = "client_credentials"
    token_cache: str | None = attrs.field(default=None, converter=_no_empty)
    rest_url: str = DEFAULT_INTACCT_REST_URL
    entity_in_token: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.client_id:
            raise ConfigError(
                "missing Intacct REST credential: client_id= (variable INTACCT_CLIENT_ID)"
            )
        if self.grant not in get_args(OAuthGrant):
            raise ConfigError(
                f"grant must be 'client_credentials' or 'authorization_code', got {self.grant!r}"
            )
        if self.grant == "client_credentials" and not (self.company_id and self.user_id):
            missing = [n for n in ("company_id", "user_id") if not getattr(self, n)]
            raise ConfigError(
                "the client-credentials grant signs in as user@company (reference "
                f"intacct-rest-api.md §2.2): missing {', '.join(f'{n}=' for n in missing)}"
            )
        _check_url(self.rest_url, "rest_url")

    @classmethod
    def resolve(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        profile_file: str | os.PathLike[str] | None = None,
        profile: str | None = None,
        **explicit: str | bool | None,
    ) -> IntacctRestCredentials:
        """Resolve the REST settings from arguments, then ``INTACCT_*``, then the profile.

        Variables: ``INTACCT_CLIENT_ID``, ``INTACCT_CLIENT_SECRET``, ``INTACCT_COMPANY_ID``,
        ``INTACCT_USER_ID``, ``INTACCT_ENTITY_ID``, ``INTACCT_OAUTH_GRANT``,
        ``INTACCT_TOKEN_CACHE``, ``INTACCT_REST_URL``, ``INTACCT_ENTITY_IN_TOKEN``; profile keys
        are the attribute names. A profile value ``keyring:`` reads the secret from the keyring.

        Args:
            environ: the variables to read (default: ``os.environ``).
            profile_file: the profile file (default: ``INTACCT_PROFILE_FILE``, else
                :data:`DEFAULT_PROFILE_FILE`).
            profile: the profile section to read (default: ``INTACCT_PROFILE``, else
                ``default``).
            **explicit: settings given as arguments, by attribute name (``client_id=``...);
                they win over the variables and the profile.

        Returns:
            The REST credentials, checked (settings missing everywhere are None).

        Raises:
            ConfigError: an unknown setting, or a value missing or invalid (see the class).
        """
        unknown = set(explicit) - set(_REST_SOURCES)
        if unknown:
            raise ConfigError(f"unknown Intacct REST setting(s): {', '.join(sorted(unknown))}")
        env, path, section_name, section = _profile(environ, profile_file, profile)
        values: dict[str, str | bool | None] = {}
        for name, (var, key) in _REST_SOURCES.items():
            value = explicit.get(name)
            if value is None or value == "":
                value = env.get(var) or section.get(key) or None
            values[name] = value
        if not values["client_id"]:
            raise ConfigError(
                "missing Intacct REST credential: client_id (argument client_id=, variable "
                f"INTACCT_CLIENT_ID); also looked in profile [{section_name}] of {path}"
                + ("" if path.exists() else " (file not found)")
            )
        in_token = values["entity_in_token"]
        grant = str(values["grant"] or "client_credentials").strip().lower()
        return cls(
            client_id=str(values["client_id"]),
            client_secret=_text_or_none(values["client_secret"]),
            company_id=_text_or_none(values["company_id"]),
            user_id=_text_or_none(values["user_id"]),
            entity_id=_text_or_none(values["entity_id"]),
            grant=grant,  # type: ignore[arg-type]  # checked by __attrs_post_init__
            token_cache=_text_or_none(values["token_cache"]),
            rest_url=str(values["rest_url"] or DEFAULT_INTACCT_REST_URL),
            entity_in_token=in_token is True or str(in_token or "").lower() in _TRUE,
        )


def _text_or_none(value: str | bool | None) -> str | None:
    return None if value is None or value == "" else str(value)


def _read_profile(
    path: Path, section: str, *, required: bool, strict: bool = False
) -> Mapping[str, str]:
    if not path.exists():
        if required:
            raise ConfigError(f"profile [{section}] requested but {path} does not exist")
        return {}
    _check_permissions(path, strict=strict)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        # configparser quotes the offending line, which may hold a password: say where only.
        raise ConfigError(f"cannot read {path}: {_where(exc)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {type(exc).__name__}") from None
    if not parser.has_section(section):
        if required or section != "default":
            raise ConfigError(f"profile [{section}] not found in {path}")
        return {}
    values = dict(parser.items(section))
    return {key: _from_keyring(value, section, key) for key, value in values.items()}


def _where(exc: configparser.Error) -> str:
    kind = {
        configparser.MissingSectionHeaderError: "no [section] header before the first setting",
        configparser.DuplicateSectionError: "a section appears twice",
        configparser.DuplicateOptionError: "a setting appears twice in one section",
    }.get(type(exc), "malformed line(s)")
    lines: list[int] = []
    for item in getattr(exc, "errors", ()):
        lines.append(int(item[0]))
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int) and lineno not in lines:
        lines.append(lineno)
    if isinstance(exc, configparser.DuplicateOptionError | configparser.DuplicateSectionError):
        kind += f" ([{exc.section}])"
    where = f" at line {', '.join(map(str, lines))}" if lines else ""
    return f"{kind}{where} (line contents not shown: they may hold a secret)"


def _check_permissions(path: Path, *, strict: bool) -> None:
    if os.name != "posix":
        return  # Windows ACLs are not mode bits; nothing reliable to say.
    mode = path.stat().st_mode
    if not mode & (stat.S_IRWXG | stat.S_IRWXO):
        return
    message = (
        f"{path} can be read or written by other users (mode {stat.S_IMODE(mode):o}); "
        f"run: chmod 600 {path}"
    )
    if strict:
        raise ConfigError(f"{message} ({_STRICT_PERMISSIONS_VARIABLE} is set)")
    warnings.warn(message, InsecureCredentialsWarning, stacklevel=4)


def _from_keyring(value: str, section: str, key: str) -> str:
    if not value.startswith(_KEYRING_PREFIX):
        return value
    reference = value[len(_KEYRING_PREFIX) :].strip()
    service, _, username = reference.partition("/")
    if not reference:
        service, username = KEYRING_SERVICE, f"{section}/{key}"
    elif not service or not username:
        raise ConfigError(
            f"profile [{section}] {key}: a keyring reference is 'keyring:' or "
            "'keyring:SERVICE/USERNAME'"
        )
    try:
        keyring = importlib.import_module("keyring")
    except ImportError:
        raise ConfigError(
            f"profile [{section}] {key} is read from the OS keyring, but the keyring package "
            "is not installed: pip install 'intacct-sync[keyring]'"
        ) from None
    try:
        secret = keyring.get_password(service, username)
    except Exception as exc:  # any backend failure; its text may echo what was asked for
        raise ConfigError(
            f"profile [{section}] {key}: the keyring failed ({type(exc).__name__}) for "
            f"service {service!r}, user {username!r}"
        ) from None
    if not secret:
        raise ConfigError(
            f"profile [{section}] {key}: no keyring entry for service {service!r}, user "
            f"{username!r} (add it with: keyring set {service} {username})"
        )
    return str(secret)


@attrs.frozen(kw_only=True)
class SalesforceCredentials:
    """How to reach a Salesforce org: a ready access token, or what a token flow needs.

    Environment variables read by :meth:`from_env`: ``SF_INSTANCE_URL``, ``SF_ACCESS_TOKEN``,
    ``SF_CLIENT_ID``, ``SF_CLIENT_SECRET``, ``SF_USERNAME``, ``SF_PRIVATE_KEY_FILE``,
    ``SF_REFRESH_TOKEN``, ``SF_LOGIN_URL``, ``SF_API_VERSION``.
    """

    instance_url: str | None = None
    access_token: str | None = attrs.field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)
    username: str | None = None
    private_key_file: str | None = None
    refresh_token: str | None = attrs.field(default=None, repr=False)
    login_url: str | None = None
    api_version: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SalesforceCredentials:
        """Read the ``SF_*`` variables (see the class docstring).

        Args:
            environ: the environment to read (default ``os.environ``).

        Returns:
            The credentials the variables give.
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(name) or None

        return cls(
            instance_url=get("SF_INSTANCE_URL"),
            access_token=get("SF_ACCESS_TOKEN"),
            client_id=get("SF_CLIENT_ID"),
            client_secret=get("SF_CLIENT_SECRET"),
            username=get("SF_USERNAME"),
            private_key_file=get("SF_PRIVATE_KEY_FILE"),
            refresh_token=get("SF_REFRESH_TOKEN"),
            login_url=get("SF_LOGIN_URL"),
            api_version=get("SF_API_VERSION"),
        )
