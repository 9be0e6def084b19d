"""Read-only pandas containers for result objects (an IPD-MA result is an audit record).

Under pandas' copy-on-write a read-only NumPy buffer does not stop ``s["x"] = 0``: pandas
copies the buffer and writes. :class:`FrozenSeries` and :class:`FrozenFrame` refuse item
assignment (``[]``, ``.loc``, ``.iloc``, ``.at``, ``.iat``) with a :class:`TypeError`;
anything derived from them (arithmetic, ``copy()``, selections) is an ordinary, writable
pandas object, so ``fit.fixef.copy()`` is the way to a modifiable copy.
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np
import pandas as pd

__all__ = ["FrozenFrame", "FrozenSeries", "freeze", "freeze_array"]

_MESSAGE = "results are read-only; modify a copy (.copy()) instead"


def _refuse(*_: Any, **__: Any) -> NoReturn:
    raise TypeError(_MESSAGE)


class _ReadOnlyIndexer:
    """Wraps a pandas indexer: reading passes through, assignment raises."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getitem__(self, key: Any) -> Any:
        return self._inner[key]

    def __setitem__(self, key: Any, value: Any) -> NoReturn:
        _refuse()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - rare API
        return _ReadOnlyIndexer(self._inner(*args, **kwargs))


class FrozenSeries(pd.Series):
    """A :class:`pandas.Series` whose values cannot be assigned."""

    @property
    def _constructor(self) -> type[pd.Series]:  # type: ignore[override]
        return pd.Series

    @property
    def _constructor_expanddim(self) -> type[pd.DataFrame]:  # type: ignore[override]
        return pd.DataFrame

    __setitem__ = _refuse
    __delitem__ = _refuse

    @property
    def loc(self) -> Any:  # type: ignore[override]
        return _ReadOnlyIndexer(super().loc)

    @property
    def iloc(self) -> Any:  # type: ignore[override]
        return _ReadOnlyIndexer(super().iloc)

    @property
    def at(self) -> Any:  # type: ignore[override]
        return _ReadOnlyIndexer(super().at)

    @property
    def iat(self) -> Any:  # type: ignore[override]
        return _ReadOnlyIndexer(super().iat)

    def __reduce__(self) -> Any:
        return (_series, (pd.Series(self),))


class FrozenFrame(pd.DataFrame):
    """A :class:`pandas.DataFrame` whose cells and columns cannot be assigned."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:  # type: ignore[override]
        return pd.DataFrame

    @property
    def _constructor_sliced(self) -> type[pd.Series]:  # type: ignore[override]
        return pd.Series

    __setitem__ = _refuse
    __delitem__ = _refuse
    insert = _refuse  # type: ignore[assignment]
    pop = _refuse  # type: ignore[assignment]

    @property
    def loc(self) -> Any:  # type: ignore[override]
        return _ReadOnlyIndexer(super().loc)

    @property
    def iloc(self) -> Any:  # type: ignore[override]
        return _ReadOnlyIndexer(super().iloc)

    @property
    def at(self) -> Any:  # type: ignore[override]
        return _ReadOnlyIndexer(super().at)

    @property
    def iat(self) -> Any:  # type: ignore[override]
        return _ReadOnlyIndexer(super().iat)

    def __reduce__(self) -> Any:
        return (_frame, (pd.DataFrame(self),))


def _series(series: pd.Series) -> FrozenSeries:
    return freeze(series)


def _frame(frame: pd.DataFrame) -> FrozenFrame:
    return freeze(frame)


def freeze_array(values: Any) -> np.ndarray:
    """A read-only copy of ``values`` as a NumPy array."""
    array = np.array(values, copy=True)
    array.flags.writeable = False
    return array


def freeze(obj: Any) -> Any:
    """A read-only copy: Series -> FrozenSeries, DataFrame -> FrozenFrame, array -> read-only.

    Already frozen containers are returned as they are (read-only: nothing to copy)."""
    if type(obj) in (FrozenFrame, FrozenSeries):
        return obj
    if isinstance(obj, pd.DataFrame):
        frozen = FrozenFrame(obj.copy(deep=True))
        return frozen
    if isinstance(obj, pd.Series):
        return FrozenSeries(obj.copy(deep=True))
    if isinstance(obj, np.ndarray):
        return freeze_array(obj)
    return obj
