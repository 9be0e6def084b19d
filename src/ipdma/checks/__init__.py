"""Data checks: missingness, ranges and replication of published per-trial aggregates."""

from ._checks import CheckReport, check, missingness, replicate

__all__ = ["CheckReport", "check", "missingness", "replicate"]
