"""Descriptive tables of an IPD meta-analysis as tidy DataFrames (the paper's Tables 1-3).

``table1(master)`` describes the included trials, ``table2(master)`` compares included with
not-included eligible trials (with a test per characteristic) and ``table3(master)`` the
participants at baseline; ``flow_counts(master, overall)`` the numbers of Figure 1. Rendering (HTML, XLSX) is done by ``ipdma.report``.
"""

from ._flow import FlowCounts, WindowFlow, flow_counts, followup_weeks
from ._stats import TestResult, categorical_test
from ._table1 import table1
from ._table2 import table2
from ._table3 import table3

__all__ = [
    "FlowCounts",
    "TestResult",
    "WindowFlow",
    "categorical_test",
    "flow_counts",
    "followup_weeks",
    "table1",
    "table2",
    "table3",
]
