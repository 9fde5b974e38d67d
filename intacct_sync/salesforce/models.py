"""Plain values of the Salesforce adapter: tokens, usage, describe results, bulk job info.

Models do no I/O and never import pandas; they are built from parsed JSON by named constructors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["ApiUsage", "BulkJob", "FieldInfo", "SObjectDescribe", "Token"]

_USAGE_RE = re.compile(r"api-usage=(\d+)/(\d+)")


@attrs.frozen(kw_only=True)
class Token:
    """An OAuth access token and what came with it. The token never shows in ``repr``."""

    access_token: str = attrs.field(repr=False)
    instance_url: str | None = None
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    issued_at: int | None = None
    identity_url: str | None = None
    scope: str | None = None
    refresh_token: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Token:
        """Read a token endpoint's success body.

        Args:
            data: the token endpoint's JSON (must hold ``access_token``).

        Returns:
            The token; its secrets are kept out of its repr.
        """
        issued = data.get("issued_at")
        return cls(
            access_token=str(data["access_token"]),
            instance_url=data.get("instance_url") or None,
            token_type=str(data.get("token_type") or "Bearer"),
            issued_at=int(issued) if issued not in (None, "") else None,
            identity_url=data.get("id") or None,
            scope=data.get("scope") or None,
            refresh_token=data.get("refresh_token") or None,
        )


@attrs.frozen(kw_only=True)
class ApiUsage:
    """Daily API requests used and allowed, from the ``Sforce-Limit-Info`` header.

    ``used`` may exceed ``limit``: Salesforce allows bursts over the daily allocation.
    """

    used: int
    limit: int

    @property
    def remaining(self) -> int:
        """Requests left today (never negative)."""
        return max(0, self.limit - self.used)

    @classmethod
    def from_header(cls, value: str | None) -> ApiUsage | None:
        """Parse ``api-usage=16/100000[; per-app-api-usage=...]``; ``None`` when absent.

        Args:
            value: the ``Sforce-Limit-Info`` header, or None.

        Returns:
            The calls used and the limit, or None when the header is absent or unreadable.
        """
        if not value:
            return None
        match = _USAGE_RE.search(value)
        if match is None:
            return None
        return cls(used=int(match.group(1)), limit=int(match.group(2)))


@attrs.frozen(kw_only=True)
class FieldInfo:
    """One field of an sObject describe."""

    name: str
    type: str
    label: str = ""
    scale: int = 0
    precision: int = 0
    length: int = 0
    nillable: bool = True
    external_id: bool = False
    relationship_name: str | None = None
    reference_to: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldInfo:
        """Read one entry of a describe's ``fields``.

        Args:
            data: one entry of ``fields`` in a describe body.

        Returns:
            The field's name, type, scale and relationship.
        """
        return cls(
            name=str(data["name"]),
            type=str(data.get("type") or "string"),
            label=str(data.get("label") or ""),
            scale=int(data.get("scale") or 0),
            precision=int(data.get("precision") or 0),
            length=int(data.get("length") or 0),
            nillable=bool(data.get("nillable", True)),
            external_id=bool(data.get("externalId", False)),
            relationship_name=data.get("relationshipName") or None,
            reference_to=tuple(str(t) for t in data.get("referenceTo") or ()),
        )


@attrs.frozen(kw_only=True)
class SObjectDescribe:
    """What ``GET /sobjects/{name}/describe`` says about an sObject.

    Lookups by field, relationship or child relationship name are case-insensitive, as SOQL is.
    """

    name: str
    label: str = ""
    custom: bool = False
    fields: tuple[FieldInfo, ...] = ()
    #: child relationship name -> child sObject name (``OpportunityLineItems`` -> ...)
    child_relationships: Mapping[str, str] = attrs.field(factory=dict)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    _by_name: dict[str, FieldInfo] = attrs.field(init=False, repr=False, eq=False)
    _by_relationship: dict[str, FieldInfo] = attrs.field(init=False, repr=False, eq=False)
    _children: dict[str, tuple[str, str]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name.lower(): f for f in self.fields})
        object.__setattr__(
            self,
            "_by_relationship",
            {f.relationship_name.lower(): f for f in self.fields if f.relationship_name},
        )
        object.__setattr__(
            self,
            "_children",
            {k.lower(): (k, v) for k, v in self.child_relationships.items()},
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SObjectDescribe:
        """Read a describe body.

        Args:
            data: the JSON of ``GET /sobjects/{name}/describe``.

        Returns:
            The object's fields and child relationships.
        """
        children = {
            str(c["relationshipName"]): str(c["childSObject"])
            for c in data.get("childRelationships") or ()
            if c.get("relationshipName") and c.get("childSObject")
        }
        return cls(
            name=str(data.get("name") or ""),
            label=str(data.get("label") or ""),
            custom=bool(data.get("custom", False)),
            fields=tuple(FieldInfo.from_json(f) for f in data.get("fields") or ()),
            child_relationships=children,
            raw=data,
        )

    def field(self, name: str) -> FieldInfo | None:
        """The field called ``name`` (any casing), if any.

        Args:
            name: the field's API name.

        Returns:
            The field, or None when the object has no such field.
        """
        return self._by_name.get(name.lower())

    def relationship(self, name: str) -> FieldInfo | None:
        """The lookup field whose relationship is ``name`` (``Account``, ``Owner``, ``X__r``).

        Args:
            name: the relationship name, any casing.

        Returns:
            The lookup field, or None when no field has that relationship.
        """
        return self._by_relationship.get(name.lower())

    def child(self, name: str) -> tuple[str, str] | None:
        """``(relationship name, child sObject)`` for a child relationship, any casing.

        Args:
            name: the relationship name (``OpportunityLineItems``), any casing.

        Returns:
            The name as Salesforce spells it and the child object, or None when there is no
            such relationship.
        """
        return self._children.get(name.lower())

    @property
    def external_id_fields(self) -> tuple[str, ...]:
        """Names of fields marked as external ids (usable for upserts)."""
        return tuple(f.name for f in self.fields if f.external_id)


@attrs.frozen(kw_only=True)
class BulkJob:
    """A Bulk API 2.0 job's state, as ``GET /jobs/ingest|query/{id}`` reports it."""

    id: str
    state: str
    operation: str = ""
    object: str = ""
    number_records_processed: int = 0
    number_records_failed: int = 0
    error_message: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BulkJob:
        """Read a job info body.

        Args:
            data: the Bulk API 2.0 job info JSON.

        Returns:
            The job: its id, state and record counts.
        """
        return cls(
            id=str(data["id"]),
            state=str(data.get("state") or ""),
            operation=str(data.get("operation") or ""),
            object=str(data.get("object") or ""),
            number_records_processed=int(data.get("numberRecordsProcessed") or 0),
            number_records_failed=int(data.get("numberRecordsFailed") or 0),
            error_message=data.get("errorMessage") or None,
            raw=data,
        )

    @property
    def finished(self) -> bool:
        """True once the job reached ``JobComplete``, ``Failed`` or ``Aborted``."""
        return self.state in ("JobComplete", "Failed", "Aborted")
