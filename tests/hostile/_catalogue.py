"""The registry of hostile cases and the helpers that damage a copy of the project."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ._project import write_csv, write_xlsx


@dataclass
class Env:
    """What a case's ``damage`` gets: the project folder and pytest's monkeypatch."""

    root: Path
    monkeypatch: object

    @property
    def data(self) -> Path:
        return self.root / "data"

    def spec(self, trial: str, old: str, new: str) -> None:
        path = self.root / "trials" / f"{trial}.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text, (old, trial)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def project(self, old: str, new: str) -> None:
        path = self.root / "project.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def csv(self, name: str = "csvt") -> pd.DataFrame:
        return pd.read_csv(self.data / f"{name}.csv", dtype={"pid": str})

    def write_csv(self, frame: pd.DataFrame, name: str = "csvt") -> None:
        write_csv(frame, self.data / f"{name}.csv")

    def xlsx(self) -> pd.DataFrame:
        return pd.read_excel(self.data / "xlst.xlsx", engine="openpyxl")

    def write_xlsx(self, frame: pd.DataFrame) -> None:
        write_xlsx(frame, self.data / "xlst.xlsx")

    def keep(self, values: list[object], column: str = "extra", trial: str = "csvt") -> None:
        """Add ``column`` with ``values`` to a wide trial and copy it with ``keep``."""
        frame = self.csv() if trial == "csvt" else self.xlsx()
        frame[column] = (values * len(frame))[: len(frame)]
        self.write_csv(frame) if trial == "csvt" else self.write_xlsx(frame)
        self.spec(trial, 'keep = ["site"]', f'keep = ["site", "{column}"]')

    def raw_csv(self, text: str | bytes, name: str = "csvt") -> None:
        path = self.data / f"{name}.csv"
        path.unlink()
        if isinstance(text, str):
            path.write_text(text, encoding="utf-8")
        else:
            path.write_bytes(text)


@dataclass(frozen=True)
class Case:
    """One hostile input: how to damage the project, the command, what must come out."""

    name: str
    kind: str
    damage: Callable[[Env], object]
    code: int
    expect: tuple[str, ...]
    command: tuple[str, ...] = ("ingest",)
    after: Callable[[Env, str], None] | None = None
    outputs_intact: bool = True
    as_user: bool = False  # a permission fault: under root, run as an unprivileged user
    extra: dict[str, object] = field(default_factory=dict)

    def argv(self, root: Path) -> list[str]:
        args = [a.replace("{root}", str(root)) for a in self.command]
        if not any("{root}" in a for a in self.command):
            args.append(str(root))
        return ["--quiet", *args]


CASES: list[Case] = []


def case(kind: str, code: int, *expect: str, command=("ingest",), after=None, **options):
    """Register the decorated ``damage(env)`` function as a case."""

    if "skip_root" in options:  # the former name of as_user (cases on other branches)
        options["as_user"] = options.pop("skip_root")

    def register(damage: Callable[[Env], object]) -> Callable[[Env], object]:
        CASES.append(Case(damage.__name__, kind, damage, code, expect, tuple(command), after,
                          **options))  # fmt: skip
        return damage

    return register
