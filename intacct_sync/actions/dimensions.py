"""User-defined dimensions (UDDs) for the actions workflow: which one the ``Custom`` tags name,
and their values' names turned into the ids journal lines send.

On a real company a UDD is a Platform object named by its integration name (``getDimensions``
``objectName``); its values are read with ``query`` on ``id`` and ``name``, and a journal line
takes the value's integer ``id`` in ``GLDIM<objectName>`` (reference
``../shared/reference/intacct-api.md`` §13.5).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pandas as pd

from intacct_sync.errors import InputError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.models import JournalEntry

__all__ = ["CustomDimension", "resolve_udd_values"]


@attrs.frozen(kw_only=True)
class CustomDimension:
    """The one custom (user-defined) dimension the tags may carry.

    On a real company a user-defined dimension is a Platform object named by its integration
    name (``getDimensions`` ``objectName``); its values are read with ``query`` on ``id`` and
    ``name``, and a journal line takes the value's integer ``id`` in ``GLDIM<objectName>``
    (reference §13.5). Tags carry the value's ``name`` (what people pick); the catalog keeps
    the ``id`` beside it and validation hands journal building the ``id``.

    Defaults describe the sandbox nonprofit's ``FUND`` dimension.

    Attributes:
        object: the UDD's integration name (``FUND``).
        id_field: the field a line takes (``id``).
        name_field: the field tags carry (``name``).
        line_field: the GLENTRY field lines reference it by; default ``GLDIM<object>``.
        label: the catalog category is ``[Sage Intacct] <label>``.
    """

    object: str = "FUND"
    id_field: str = "id"
    name_field: str = "name"
    line_field: str = attrs.field()
    label: str = "FUND"

    @line_field.default
    def _line_field(self) -> str:
        return f"GLDIM{self.object}"

    @classmethod
    def discover(cls, ia: IntacctClient, name: str | None = None) -> CustomDimension:
        """The company's user-defined dimension ``name`` (its integration name), or its only
        one, as ``getDimensions`` lists it (label = its ``termLabel``).

        Args:
            ia: the Intacct client.
            name: the dimension's integration name, or None for the company's only one.

        Returns:
            The dimension, with its label as ``getDimensions`` gives it.

        Raises:
            InputError: no such user-defined dimension, or several and no ``name``.
        """
        dims = ia.dimensions()
        udds = dims[dims["userDefinedDimension"].fillna(False).astype(bool)]
        names = [str(n) for n in udds["objectName"].tolist()]
        if name is not None:
            matches = udds[udds["objectName"].str.upper() == name.upper()]
        elif len(udds) == 1:
            matches = udds
        else:
            raise InputError(
                "name the user-defined dimension to use; the company has "
                + (", ".join(names) or "none"),
                field="custom_dimension",
                value=name,
            )
        if matches.empty:
            raise InputError(
                f"no user-defined dimension of that name; the company has {', '.join(names) or 'none'}",
                field="custom_dimension",
                value=name,
            )
        row = matches.iloc[0]
        label = row["termLabel"] if not pd.isna(row["termLabel"]) else row["objectName"]
        return cls(object=str(row["objectName"]), label=str(label))


def resolve_udd_values(
    ia: IntacctClient, entries: Sequence[JournalEntry]
) -> tuple[JournalEntry, ...]:
    """``entries`` with each user-defined dimension value given by name replaced by its id.

    A journal line takes a UDD value's integer ``id`` in ``GLDIM<name>`` (reference §13.5), but
    people write the value's name (``GLDIMFUND`` = ``SCHOLARSHIP``) in files. Values that are
    all digits are taken as ids already. Each UDD named is read once (``query`` on ``id``,
    ``name``); nothing is read when every value is an id.

    Args:
        ia: the Intacct client (the UDD's values are read once).
        entries: the journal entries.

    Returns:
        New entries (the inputs are not changed) whose user-defined dimension values are ids.

    Raises:
        InputError: a name the dimension does not have (naming the entry, field and value).
    """
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        for line in entry.lines:
            for field, value in line.dimensions.items():
                if field.upper().startswith("GLDIM") and not str(value).strip().isdigit():
                    wanted.setdefault(field, set()).add(str(value).strip())
    if not wanted:
        return tuple(entries)
    ids: dict[str, dict[str, str]] = {}
    for field in sorted(wanted):
        values = ia.query(field[len("GLDIM") :], select=["id", "name"])
        ids[field] = {
            str(name): str(value_id)
            for value_id, name in zip(values["id"], values["name"], strict=True)
            if not pd.isna(name)
        }
    resolved: list[JournalEntry] = []
    for entry in entries:
        lines = []
        for line in entry.lines:
            dims = dict(line.dimensions)
            for field, value in line.dimensions.items():
                text = str(value).strip()
                if field not in ids or text.isdigit():
                    continue
                if text not in ids[field]:
                    raise InputError(
                        f"{field[len('GLDIM') :]} has no value named {text!r}; its values: "
                        + ", ".join(sorted(ids[field])),
                        row=entry.key,
                        field=field,
                        value=text,
                    )
                dims[field] = ids[field][text]
            lines.append(attrs.evolve(line, dimensions=dims) if dims != line.dimensions else line)
        resolved.append(attrs.evolve(entry, lines=lines))
    return tuple(resolved)
