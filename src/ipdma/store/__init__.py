"""The master dataset: ingest a project into a DuckDB file, and load it back."""

from ._ingest import IngestResult, ingest, stale_inputs
from ._master import TABLES, MasterData, load, write_master

__all__ = ["TABLES", "IngestResult", "MasterData", "ingest", "load", "stale_inputs", "write_master"]
