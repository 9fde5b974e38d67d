"""CRM actions to Intacct: the CR/DR tag catalog, validation and the nightly sync.

>>> from intacct_sync import actions
>>> catalog = actions.build_catalog(ia)  # doctest: +SKIP
>>> report = actions.validate(frame, catalog, actions.TagSettings(location="require"))  # doctest: +SKIP
>>> actions.ActionSync(ia, sf, state).run()  # doctest: +SKIP

See ``docs/actions.md``.
"""

from __future__ import annotations

from intacct_sync.domain.action_sync import (
    OUTCOMES,
    WATERMARK,
    ActionSync,
    SyncReport,
    next_watermark,
)
from intacct_sync.domain.actions import (
    ACTION_COLUMNS,
    ACTION_FIELDS,
    ATTRIBUTES,
    CATALOG_COLUMNS,
    EXCLUDE_TAG,
    ISSUE_COLUMNS,
    NEEDS_REVIEW,
    RULES,
    TAG_OBJECT,
    Attribute,
    CatalogWriteReport,
    CustomDimension,
    Mode,
    TagSettings,
    ValidationReport,
    build_catalog,
    catalog_from_values,
    catalog_records,
    parse_tag,
    tag_label,
    validate,
    write_catalog,
)

__all__ = [
    "ACTION_COLUMNS",
    "ACTION_FIELDS",
    "ATTRIBUTES",
    "ActionSync",
    "Attribute",
    "CATALOG_COLUMNS",
    "CatalogWriteReport",
    "CustomDimension",
    "EXCLUDE_TAG",
    "ISSUE_COLUMNS",
    "Mode",
    "NEEDS_REVIEW",
    "OUTCOMES",
    "RULES",
    "SyncReport",
    "TAG_OBJECT",
    "TagSettings",
    "ValidationReport",
    "WATERMARK",
    "build_catalog",
    "catalog_from_values",
    "catalog_records",
    "next_watermark",
    "parse_tag",
    "tag_label",
    "validate",
    "write_catalog",
]
