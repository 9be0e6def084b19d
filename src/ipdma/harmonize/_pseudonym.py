"""Pseudonymous participant ids: a keyed hash (HMAC-SHA-256) of the trial and the raw id.

With ``[source].pseudonymize = true`` the master dataset holds ``HMAC(key, trial + id)``
(the first 20 hex digits) instead of the raw id. The key is read from the environment
variable ``IPDMA_PSEUDONYM_KEY`` and is never stored; the same key gives the same
pseudonyms (so re-runs and linked files agree), and without the key the raw ids cannot be
recovered or confirmed by guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import pandas as pd

from ..errors import SpecError

__all__ = ["KEY_VARIABLE", "key_digest", "pseudonyms"]

KEY_VARIABLE = "IPDMA_PSEUDONYM_KEY"


def _key() -> bytes:
    key = os.environ.get(KEY_VARIABLE, "")
    if len(key) < 16:
        raise SpecError(
            f"[source].pseudonymize = true needs a secret key of at least 16 characters in "
            f"the environment variable {KEY_VARIABLE}",
            hint=f"export {KEY_VARIABLE}=... (keep the key secret and the same across runs; "
            "it is never written to any output)",
        )
    return key.encode("utf-8")


def pseudonyms(ids: pd.Series, trial: str) -> pd.Series:
    """The keyed-hash pseudonym of each id (same id and key -> same pseudonym)."""
    key = _key()
    mapping = {
        pid: hmac.new(key, f"{trial}\x1f{pid}".encode(), hashlib.sha256).hexdigest()[:20]
        for pid in ids.unique()
    }
    return ids.map(mapping)


def key_digest() -> str:
    """A digest of the key (not the key) so that a changed key rewrites the master."""
    return hmac.new(_key(), b"ipdma-key-check", hashlib.sha256).hexdigest()
