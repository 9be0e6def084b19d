"""Exponential families with their canonical link for the AGHQ engine (``_aghq``).

Per row ``r`` with linear predictor ``eta`` (offset included) and size ``m`` (binomial
trials; 1 for Poisson), the log-density is ``y eta - m b(eta) + c(y, m)`` with the cumulant
``b``. The engine needs

* ``loglik``: ``y eta - m b(eta)`` (the constant ``c`` is added once, ``log_constant``);
* ``mean``: ``m b'(eta)`` (the score of ``eta`` is ``y - mean``);
* ``weight``: ``m b''(eta)`` (minus the second derivative);
* ``weight_slope``: ``m b'''(eta)`` (the third derivative, for the exact AGHQ gradient);
* ``unit_fourth``: ``b''''(eta)`` (the fourth derivative, for the exact AGHQ Hessian).

Binomial (logit link): ``b = log(1 + e^eta)``, ``b' = p``, ``b'' = p (1 - p)``,
``b''' = p (1 - p)(1 - 2p)``, ``b'''' = p (1 - p)(1 - 6p(1 - p))``, ``c = log C(m, y)``.
Poisson (log link): ``b = b' = b'' = b''' = b'''' = e^eta``, ``c = -log y!``; an exposure enters as
the offset ``log t`` in ``eta``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln

__all__ = ["BINOMIAL", "POISSON", "GLMFamily"]


@dataclass(frozen=True)
class GLMFamily:
    """A canonical-link exponential family (see the module docstring)."""

    name: str
    link: str

    def loglik(self, y: np.ndarray, size: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """``y eta - m b(eta)`` (broadcasts over extra node axes of ``eta``)."""
        if self.name == "binomial":
            return y * eta - size * np.logaddexp(0.0, eta)
        return y * eta - np.exp(eta)

    def mean(self, size: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """``m b'(eta)``: expected count."""
        if self.name == "binomial":
            return size * expit(eta)
        return np.exp(eta)

    def weight(self, size: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """``m b''(eta)``: the variance of the count, minus the second derivative."""
        if self.name == "binomial":
            p = expit(eta)
            return size * p * (1.0 - p)
        return np.exp(eta)

    def mean_and_weight(self, size: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(m b'(eta), m b''(eta))`` from one evaluation of ``b'``."""
        if self.name == "binomial":
            p = expit(eta)
            mean = size * p
            return mean, mean * (1.0 - p)
        mu = np.exp(eta)
        return mu, mu

    def weight_slope(self, size: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """``m b'''(eta)``: the derivative of the weight."""
        if self.name == "binomial":
            p = expit(eta)
            return size * p * (1.0 - p) * (1.0 - 2.0 * p)
        return np.exp(eta)

    # Per unit size, from the cumulant: the form a vectorised engine uses (one cumulant
    # evaluation per row and node, the rest derived from it).
    def cumulant(self, eta: np.ndarray) -> np.ndarray:
        """``b(eta)``: ``log(1 + e^eta)`` (binomial, overflow-free) or ``e^eta`` (Poisson)."""
        if self.name == "binomial":
            return np.maximum(eta, 0.0) + np.log1p(np.exp(-np.abs(eta)))
        return np.exp(eta)

    def unit_mean(self, eta: np.ndarray, cumulant: np.ndarray) -> np.ndarray:
        """First derivative of ``b`` given ``b(eta)``: ``exp(eta - b)`` = p, or ``b``."""
        if self.name == "binomial":
            return np.exp(eta - cumulant)
        return cumulant

    def unit_variance(self, mean: np.ndarray) -> np.ndarray:
        """Second derivative of ``b`` given the first: ``p (1 - p)`` or ``mu``."""
        return mean * (1.0 - mean) if self.name == "binomial" else mean

    def unit_third(self, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
        """Third derivative of ``b`` given the first two: ``p (1 - p)(1 - 2p)`` or ``mu``."""
        return variance * (1.0 - 2.0 * mean) if self.name == "binomial" else variance

    def unit_fourth(self, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
        """Fourth derivative of ``b``: ``p (1 - p)(1 - 6 p (1 - p))`` or ``mu``."""
        return variance * (1.0 - 6.0 * variance) if self.name == "binomial" else variance

    def log_constant(self, y: np.ndarray, size: np.ndarray) -> float:
        """``sum c(y, m)``: log binomial coefficients, or ``-log y!``."""
        if self.name == "binomial":
            if np.all(size == 1.0):  # 0/1 outcomes: every coefficient is 1
                return 0.0
            return float(np.sum(gammaln(size + 1) - gammaln(y + 1) - gammaln(size - y + 1)))
        return float(-np.sum(gammaln(y + 1)))


BINOMIAL = GLMFamily("binomial", "logit")
POISSON = GLMFamily("poisson", "log")
