"""Optional progress bars: ``tqdm.auto`` when installed and asked for, else nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["Progress", "progress"]


class Progress(Protocol):
    """What long operations call to report progress."""

    def update(self, n: int = 1) -> object:
        """Add ``n`` units done."""
        ...

    def set_total(self, total: int | None) -> None:
        """Set or correct the total once it is known."""
        ...


class _Silent:
    def update(self, n: int = 1) -> object:
        return None

    def set_total(self, total: int | None) -> None:
        return None


class _Tqdm:
    def __init__(self, bar: object) -> None:
        self._bar = bar

    def update(self, n: int = 1) -> object:
        return self._bar.update(n)  # type: ignore[attr-defined]

    def set_total(self, total: int | None) -> None:
        if total is not None and getattr(self._bar, "total", None) != total:
            self._bar.total = total  # type: ignore[attr-defined]
            self._bar.refresh()  # type: ignore[attr-defined]


@contextmanager
def progress(
    *, enabled: bool, desc: str, total: int | None = None, unit: str = "rows"
) -> Iterator[Progress]:
    """A progress bar when ``enabled`` and tqdm is installed; a silent stand-in otherwise."""
    if not enabled:
        yield _Silent()
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        yield _Silent()
        return
    with tqdm(total=total, desc=desc, unit=unit, leave=False) as bar:
        yield _Tqdm(bar)
