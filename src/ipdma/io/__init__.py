"""Read raw trial files (SPSS, Stata, SAS, CSV/TSV, Excel, Parquet) read-only."""

from ._read import FORMATS, RawTable, check_readable, infer_format, read_table

__all__ = ["FORMATS", "RawTable", "check_readable", "infer_format", "read_table"]
