"""The master dataset: ingest a project into a DuckDB file, load it back, and cut it into
analysis frames (one follow-up window, one row per participant)."""

from ._frame import analysis_frame
from ._ingest import IngestResult, ingest, stale_inputs
from ._master import TABLES, MasterData, MasterMeta, load, write_master

__all__ = [
    "TABLES",
    "IngestResult",
    "MasterData",
    "MasterMeta",
    "analysis_frame",
    "ingest",
    "load",
    "stale_inputs",
    "write_master",
]
