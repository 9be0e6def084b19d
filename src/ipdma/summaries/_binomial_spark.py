"""A site of the logistic protocol whose rows live in Spark: per-trial work as a grouped map.

Same messages and answers as :class:`~ipdma.summaries.BinomialSite`; every request runs one
Spark job, ``groupBy("trial").applyInPandas(...)``, in which each trial's rows are turned
into the engine's one-trial problem (``trial_problem``) and evaluated at the parameters the
coordinator sent. Only one row per trial (its log-likelihood, gradient, mode, curvature)
comes back to the driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..analysis._plan import AnalysisPlan
from ..analysis._spec import build_grid
from ..errors import InputError
from ._binomial_site import raw_columns, trial_problem
from ._layout import raw_layout

__all__ = ["SparkBinomialSite"]

_SCHEMA = "trial string, a array<double>, b array<double>, c array<double>, d array<double>"


@dataclass(frozen=True)
class _Setup:
    """What the coordinator's setup message fixes for one model at this site: the raw
    columns, each trial's linear map ``A``, the sizes of the random and fixed parts, the
    positions of the free entries of the relative covariance factor, and the trials used."""

    columns: tuple[str, ...]
    A: dict[str, np.ndarray]
    q: int
    n_fixed: int
    lam_rows: np.ndarray
    lam_cols: np.ndarray
    used_trials: tuple[str, ...]


class SparkBinomialSite:
    """Answers protocol messages from a Spark DataFrame of analysis-frame rows."""

    def __init__(self, table: Any, plan: AnalysisPlan) -> None:
        self.table = table
        self.plan = plan
        self.specs = {s.id: s for s in build_grid(plan)}
        self.rows: Any = None
        self.config: _Setup | None = None

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        kind = message["kind"]
        if kind == "setup":
            return self._setup(message)
        if self.rows is None:
            raise InputError("the site received a request before the model was set up")
        if kind in ("glm", "evaluate"):
            return self._map(kind, message)
        raise InputError(f"unknown request {kind!r}", hint="update ipdma at the site")

    def _run(self, fn, trials: Sequence[str]) -> dict[str, np.ndarray]:
        """One grouped-map job; rows back in the order of ``trials``."""
        out = self.rows.groupBy("trial").applyInPandas(fn, schema=_SCHEMA).toPandas()
        out = out.set_index("trial").loc[list(trials)]
        return {k: np.stack([np.asarray(v, float) for v in out[k]]) for k in "abcd"}

    def _setup(self, message: dict[str, Any]) -> dict[str, Any]:
        from pyspark.sql import functions as F

        spec = self.specs[str(message["model"])]
        layout = raw_layout(spec, self.plan)
        trials = np.asarray(message["trials"]).astype(str)
        t = self.table
        cond = F.col("treat").isNotNull() & F.col("trial").cast("string").isin(list(trials))
        for name in layout.needed:
            cond = cond & F.col(name).isNotNull()
        if spec.comparison != "any":
            cond = cond & ((F.col("treat") == 1) | (F.col("comparison") == spec.comparison))
        if "window" in t.columns:
            cond = cond & (F.col("window") == spec.window)
        variables = sorted({"treat", *layout.needed})
        self.rows = (
            t.filter(cond).select(F.col("trial").cast("string").alias("trial"), *variables).cache()
        )
        A = np.asarray(message["A"], dtype=float)
        config = _Setup(
            columns=layout.columns,
            A={str(tr): A[k] for k, tr in enumerate(trials)},
            q=int(message["q"]),
            n_fixed=int(message["n_fixed"]),
            lam_rows=np.asarray(message["lam_rows"]),
            lam_cols=np.asarray(message["lam_cols"]),
            used_trials=tuple(str(tr) for tr in trials),
        )
        outcome = layout.outcome

        def stats(frame: pd.DataFrame) -> pd.DataFrame:
            trial = str(frame["trial"].iloc[0])
            raw = raw_columns(frame, config.columns)
            _, squares = trial_problem(raw, config.A[trial], config.q, config.n_fixed,
                                       config.lam_rows, config.lam_cols, 1)  # fmt: skip
            y = frame[outcome].to_numpy(float)
            return pd.DataFrame({"trial": [trial], "a": [[float(len(frame))]],
                                 "b": [[float(y.sum())]], "c": [squares.tolist()],
                                 "d": [[0.0]]})  # fmt: skip

        got = self._run(stats, config.used_trials)
        n, events = got["a"][:, 0], got["b"][:, 0]
        used = (events > 0) & (events < n)
        kept = tuple(tr for tr, u in zip(config.used_trials, used, strict=True) if u)
        self.config = replace(config, used_trials=kept)
        self.rows = self.rows.filter(F.col("trial").isin(list(kept))).cache()
        squares = got["c"]
        q, ps = config.q, config.n_fixed
        # the engine's order: [X shared, intercept, Z]
        return {"n": n, "events": events, "used": used, "squares": squares[:, : ps + 1 + q]}

    def _map(self, kind: str, message: dict[str, Any]) -> dict[str, Any]:
        config = self.config
        if config is None:
            raise InputError("the site received a request before the model was set up")
        index = {tr: k for k, tr in enumerate(config.used_trials)}
        nagq = int(message.get("nagq", 1))
        params = {k: np.asarray(v, float) for k, v in message.items() if k not in ("kind",)
                  and not isinstance(v, str)}  # fmt: skip

        def evaluate(frame: pd.DataFrame) -> pd.DataFrame:
            trial = str(frame["trial"].iloc[0])
            k = index[trial]
            raw = raw_columns(frame, config.columns)
            problem, _ = trial_problem(raw, config.A[trial], config.q, config.n_fixed,
                                       config.lam_rows, config.lam_cols, nagq)  # fmt: skip
            alpha = params["alpha"][k : k + 1]
            if kind == "glm":
                data = problem.data
                coef = np.r_[params["beta"], alpha[0]]
                eta = data.X @ coef
                G = data.X.T @ (data.y - data.family.mean(data.size, eta))
                H = (data.X * data.family.weight(data.size, eta)[:, None]).T @ data.X
                row = {"a": G, "b": H.ravel(), "c": [0.0], "d": [0.0]}
            else:
                ev = problem.evaluate(params["theta"], alpha, params["modes"][k : k + 1],
                                      gradient=bool(params["gradient"]),
                                      hessian=bool(params.get("hessian", 0.0)))  # fmt: skip
                grad = ev.gradient[0] if ev.gradient is not None else np.zeros(1)
                hess = ev.hessian[0].ravel() if ev.hessian is not None else np.zeros(1)
                row = {"a": ev.loglik, "b": grad, "c": ev.modes[0], "d": hess}
            return pd.DataFrame({"trial": [trial], **{c: [np.asarray(v, float).tolist()]
                                                      for c, v in row.items()}})  # fmt: skip

        if any(tr not in index for tr in config.used_trials):
            raise InputError("inconsistent trial set at the site")
        got = (
            self._run(evaluate, config.used_trials)
            if index
            else {c: np.zeros((0, 1)) for c in "abcd"}
        )
        K = len(index)
        if kind == "glm":
            p = got["a"].shape[1]
            return {"G": got["a"], "H": got["b"].reshape(K, p, p)}
        q = config.q
        lower = np.zeros((q, q))
        lam = params["theta"][config.n_fixed :]
        lower[config.lam_rows, config.lam_cols] = lam
        out = {"loglik": got["a"][:, 0], "modes": got["c"].reshape(K, q), "lower": lower}
        if bool(params["gradient"]):
            out["gradient"] = got["b"]
        if bool(params.get("hessian", 0.0)):
            P = got["b"].shape[1]
            out["hessian"] = got["d"].reshape(K, P, P)
        return out
