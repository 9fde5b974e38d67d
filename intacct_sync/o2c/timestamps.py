"""Intacct's naive local timestamps as UTC instants, daylight-saving gaps and repeats included.

Intacct returns ``WHENMODIFIED`` as ``mm/dd/yyyy HH:MM:SS`` with no time zone
(``reference/intacct-api.md`` section 7, "Values on the wire"); the order-to-cash workflows read
it in a configured IANA zone. Twice a year a local wall time does not name exactly one instant,
and the reference is silent on what Intacct writes then, so :func:`to_utc` takes a rule that is
right whichever way a tenant stamps it:

* **Repeated hour** (clocks go back: ``01:30`` happens twice in ``America/New_York``): the
  *earlier* instant (the daylight-time one, ``fold=0``). These stamps feed "modified since"
  watermarks and last-modified conflict checks; the earlier instant can only make the next read
  start sooner (a re-read, which the agreed values make harmless), never later (a change skipped
  for good).
* **Skipped hour** (clocks go forward: ``02:30`` never happens): shifted forward to the first
  instant that exists (``03:00`` daylight time), the end of the gap, as pandas'
  ``nonexistent="shift_forward"`` does. A clock that had not yet switched meant an instant at or
  after that one, so the shift never places a change later than it was.

pandas' own ``tz_localize`` raises a bare ``ValueError`` for the repeated hour, which is what
crashed every masters sync whose data held such a stamp.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from intacct_sync.errors import InputError

__all__ = ["to_utc", "zone"]


def zone(name: str, *, field: str = "intacct_timezone") -> ZoneInfo:
    """The IANA zone ``name``.

    Args:
        name: the IANA name (``America/New_York``).
        field: the setting named in an error.

    Returns:
        The zone.

    Raises:
        InputError: an unknown zone (naming ``field`` and the value).
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError("unknown time zone", field=field, value=name) from exc


def to_utc(value: Any, tz: dt.tzinfo | None) -> dt.datetime | None:
    """``value`` as an aware UTC datetime; a naive value is read as wall time in ``tz``.

    Missing values (None, NA, NaT, NaN) give None; an aware value is converted as it is. The
    daylight-saving rule is the module's (the earlier instant of a repeated hour; the end of a
    skipped one).

    >>> ny = ZoneInfo("America/New_York")
    >>> to_utc("2026-11-01 01:30:00", ny).isoformat()  # repeated: the earlier (EDT) instant
    '2026-11-01T05:30:00+00:00'
    >>> to_utc("2026-03-08 02:30:00", ny).isoformat()  # skipped: shifted to 03:00 EDT
    '2026-03-08T07:00:00+00:00'

    Args:
        value: a datetime, a timestamp, Intacct's text form or a missing value.
        tz: the zone a naive value is wall time in.

    Returns:
        The instant as an aware UTC datetime, or None for a missing value.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str) and not value.strip():
        return None  # pandas would read an empty text as NaT
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        return stamp.to_pydatetime().astimezone(dt.UTC)
    naive = stamp.to_pydatetime()
    if tz is None:
        return naive.replace(tzinfo=dt.UTC)
    # fold=0 and fold=1 agree except in a repeated hour (fold=0 is earlier) or a skipped one
    # (fold=0 is later: it reads the wall time with the offset from before the gap).
    first = naive.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)
    if first <= second:
        return first
    shifted = stamp.tz_localize(tz, nonexistent="shift_forward")
    return shifted.to_pydatetime().astimezone(dt.UTC)
