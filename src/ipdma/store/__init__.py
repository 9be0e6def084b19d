"""The master dataset: ingest a project into a DuckDB file, and load it back."""

from ._ingest import IngestResult, ingest
from ._master import TABLES, MasterData, load, write_master

__all__ = ["TABLES", "IngestResult", "MasterData", "ingest", "load", "write_master"]
