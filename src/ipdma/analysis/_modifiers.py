"""The paper's candidate modifiers live in :mod:`ipdma.spec._modifiers`; re-exported here."""

from ..spec._modifiers import DEFAULT_MODIFIERS, PAPER_MODIFIER_ORDER

__all__ = ["DEFAULT_MODIFIERS", "PAPER_MODIFIER_ORDER"]
