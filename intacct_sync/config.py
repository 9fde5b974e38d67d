"""Credentials and profiles for both systems.

Intacct values are resolved the way the official SDKs do it: explicit arguments first, then the
``INTACCT_*`` environment variables, then a profile of ``~/.intacct/credentials.ini`` (section
``INTACCT_PROFILE``, default ``default``). Secrets are kept out of every ``repr``.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from intacct_sync.errors import ConfigError

__all__ = [
    "DEFAULT_INTACCT_ENDPOINT",
    "DEFAULT_PROFILE_FILE",
    "IntacctCredentials",
    "SalesforceCredentials",
]

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
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value


@attrs.frozen(kw_only=True)
class IntacctCredentials:
    """Web Services sender and company user for the Intacct XML gateway.

    ``endpoint_url`` defaults to Sage's gateway; the sandbox sets its loopback URL.
    """

    sender_id: str
    sender_password: str = attrs.field(repr=False)
    company_id: str
    user_id: str
    user_password: str = attrs.field(repr=False)
    entity_id: str | None = None
    endpoint_url: str = DEFAULT_INTACCT_ENDPOINT

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
        section = _read_profile(path, section_name, required=profile is not None)

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


def _read_profile(path: Path, section: str, *, required: bool) -> Mapping[str, str]:
    if not path.exists():
        if required:
            raise ConfigError(f"profile [{section}] requested but {path} does not exist")
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not parser.has_section(section):
        if required or section != "default":
            raise ConfigError(f"profile [{section}] not found in {path}")
        return {}
    return dict(parser.items(section))


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
        """Read the ``SF_*`` variables (see the class docstring)."""
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
