"""Site side of the federated logistic protocol: the engine's per-trial evaluation, locally.

The site keeps its participant rows. The coordinator sends, per model, each of the site's
trials' linear map from raw columns to design columns (``setup``); the site builds the
design rows exactly as the pooled grid would (trial-centred raw columns times that map) and
then answers, for parameters the coordinator sends, per trial only:

* ``glm``: the score and information of the logistic regression without random effects
  (the engine's starting values, ``_logistic_newton.glm_start``);
* ``evaluate``: the AGHQ log-likelihood, its exact gradient, the conditional modes and the
  curvature of each trial (``_aghq.evaluate`` through the engine's ``_Problem``).

Trials are independent given the parameters, so the coordinator's sums over the sites'
trials are the pooled quantities. Nothing per participant leaves the site.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..analysis._plan import AnalysisPlan
from ..analysis._spec import build_grid
from ..errors import InputError
from ..models._aghq import BinomialData, hermite_grid
from ..models._logistic_newton import _Problem
from ._file import plan_hash
from ._layout import raw_layout

__all__ = ["BinomialSite", "raw_columns", "trial_problem"]


def raw_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """The raw columns (``"1"``, variables, ``a*b`` products) of the rows of ``frame``."""
    raw = np.empty((len(frame), len(columns)))
    for j, name in enumerate(columns):
        if name == "1":
            raw[:, j] = 1.0
        elif "*" in name:
            a, b = name.split("*", 1)
            raw[:, j] = frame[a].to_numpy(float) * frame[b].to_numpy(float)
        else:
            raw[:, j] = frame[name].to_numpy(float)
    return raw


def trial_problem(
    raw: np.ndarray, A: np.ndarray, q: int, n_fixed: int, lam_rows, lam_cols, nagq: int
) -> tuple[_Problem, np.ndarray]:
    """One trial's engine problem from its raw rows and its linear map ``A`` (centred
    basis), and the per-column sums of squares ``[X, intercept, Z]``."""
    centred = raw - raw.mean(axis=0)
    centred[:, 0] = 1.0
    design = centred @ A
    X = np.column_stack([design[:, q + 1 : q + 1 + n_fixed], design[:, q : q + 1]])
    Z = design[:, :q]
    data = BinomialData(
        y=np.round(design[:, -1]), size=np.ones(len(raw)), X=np.ascontiguousarray(X),
        Z=np.ascontiguousarray(Z), starts=np.zeros(1, dtype=np.intp),
        trial_index=np.zeros(len(raw), dtype=np.intp), n_shared=n_fixed,
        lam_rows=np.asarray(lam_rows, dtype=np.intp), lam_cols=np.asarray(lam_cols, dtype=np.intp),
    )  # fmt: skip
    nodes, weights = hermite_grid(nagq, q)
    squares = np.sum(np.column_stack([X, Z]) ** 2, axis=0)
    return _Problem(data, nodes, weights, np.ones((1, 1), dtype=bool)), squares


class BinomialSite:
    """Answers protocol messages from the rows of one site's analysis frame."""

    def __init__(self, frame: pd.DataFrame, plan: AnalysisPlan) -> None:
        self.frame = frame
        self.plan = plan
        self.specs = {s.id: s for s in build_grid(plan)}
        self.data: BinomialData | None = None
        self.mask: np.ndarray | None = None
        self._problems: dict[int, _Problem] = {}

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        kind = message["kind"]
        if kind == "setup":
            return self._setup(message)
        if self.data is None:
            raise InputError("the site received a request before the model was set up")
        if kind == "glm":
            return self._glm(message)
        if kind == "evaluate":
            return self._evaluate(message)
        raise InputError(f"unknown request {kind!r}", hint="update ipdma at the site")

    def _rows(self, spec_id: str, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        spec = self.specs[spec_id]
        layout = raw_layout(spec, self.plan)
        f = self.frame
        if "window" in f.columns:
            f = f[f["window"] == spec.window]
        keep = f["treat"].notna().to_numpy().copy()
        for name in layout.needed:
            keep &= f[name].notna().to_numpy()
        if spec.comparison != "any":
            keep &= ((f["treat"] == 1) | (f["comparison"] == spec.comparison)).to_numpy()
        trial = f["trial"].astype(str).to_numpy()
        keep &= np.isin(trial, trials)
        f, trial = f[keep], trial[keep]
        order = np.argsort(trial, kind="stable")
        f, trial = f.iloc[order], trial[order]
        raw = raw_columns(f, layout.columns)
        codes = np.searchsorted(trials, trial)
        return raw, codes, layout

    def _setup(self, message: dict[str, Any]) -> dict[str, Any]:
        stated = message.get("plan_hash")
        if stated is not None and stated != plan_hash(self.plan.record()):
            raise InputError(
                f"the coordinator's analysis plan (hash {str(stated)[:12]}...) is not this "
                f"site's (hash {plan_hash(self.plan.record())[:12]}...)",
                hint="run the site with the plan its summaries file was written for (--plan)",
            )
        if message["model"] not in self.specs:
            raise InputError(f"model {message['model']} is not in this site's plan")
        trials = np.asarray(message["trials"]).astype(str)
        A = np.asarray(message["A"], dtype=float)  # (K, r, d) in the centred basis
        q, n_fixed = int(message["q"]), int(message["n_fixed"])
        raw, codes, _ = self._rows(str(message["model"]), trials)
        K = len(trials)
        sizes = np.bincount(codes, minlength=K)
        means = np.zeros((K, raw.shape[1]))
        np.add.at(means, codes, raw)
        means = means / np.maximum(sizes, 1)[:, None]
        centred = raw - means[codes]
        centred[:, 0] = 1.0  # the basis [1, r_a - m_a]
        design = np.einsum("ra,rad->rd", centred, A[codes])
        Z = design[:, :q]
        intercept = design[:, q : q + 1]
        X = design[:, q + 1 : q + 1 + n_fixed]
        y = design[:, -1]
        events = np.bincount(codes, weights=y, minlength=K)
        # a trial without events (or with only events) and its own intercept is left out of
        # the likelihood (its limit contribution is 0), as the engine's prepare does
        used = (events > 0) & (events < sizes)
        rows = used[codes]
        kept = np.searchsorted(np.flatnonzero(used), codes[rows])
        self.data = BinomialData(
            y=np.round(y[rows]),
            size=np.ones(int(rows.sum())),
            X=np.ascontiguousarray(np.column_stack([X[rows], intercept[rows]])),
            Z=np.ascontiguousarray(Z[rows]),
            starts=np.flatnonzero(np.diff(kept, prepend=-1)),
            trial_index=kept,
            n_shared=n_fixed,
            lam_rows=np.asarray(message["lam_rows"], dtype=np.intp),
            lam_cols=np.asarray(message["lam_cols"], dtype=np.intp),
        )
        self.mask = np.ones((int(used.sum()), 1), dtype=bool)
        self._problems = {}
        squares = np.zeros((K, n_fixed + 1 + q))
        np.add.at(squares, codes, np.column_stack([X, intercept, Z]) ** 2)
        return {"n": sizes, "events": events, "used": used, "squares": squares}

    def _problem(self, nagq: int) -> _Problem:
        if nagq not in self._problems:
            assert self.data is not None and self.mask is not None
            nodes, weights = hermite_grid(nagq, self.data.q)
            self._problems[nagq] = _Problem(self.data, nodes, weights, self.mask)
        return self._problems[nagq]

    def _glm(self, message: dict[str, Any]) -> dict[str, Any]:
        data = self.data
        assert data is not None
        beta, alpha = np.asarray(message["beta"], float), np.asarray(message["alpha"], float)
        K = data.ntrials
        coef = np.concatenate([np.broadcast_to(beta, (K, len(beta))), alpha], axis=1)
        eta = np.einsum("rj,rj->r", data.X, coef[data.trial_index])
        w = data.family.weight(data.size, eta)  # as the engine's glm_start
        mean = data.family.mean(data.size, eta)
        G = np.add.reduceat(data.X * (data.y - mean)[:, None], data.starts, axis=0)
        X = data.X
        H = np.add.reduceat(w[:, None, None] * X[:, :, None] * X[:, None, :], data.starts, axis=0)
        return {"G": G, "H": H}

    def _evaluate(self, message: dict[str, Any]) -> dict[str, Any]:
        problem = self._problem(int(message["nagq"]))
        ev = problem.evaluate(
            np.asarray(message["theta"], float),
            np.asarray(message["alpha"], float),
            np.asarray(message["modes"], float),
            gradient=bool(message["gradient"]),
        )
        out = {"loglik": ev.loglik, "modes": ev.modes, "lower": ev.lower}
        if ev.gradient is not None:
            out["gradient"] = ev.gradient
        if ev.information is not None:
            out["information"] = ev.information
        return out
