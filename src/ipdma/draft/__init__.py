"""From raw trial files to a project: profile a file, draft its trial spec, validate, codebook.

``draft_trial(path)`` reads a raw file and its metadata and proposes every setting of its
trial spec with the evidence and a confidence; what the file cannot tell is ``TODO``.
``draft_toml`` writes the proposal as commented TOML; ``init_project`` lays out a project
folder with one drafted spec per raw file; ``validate`` checks a project as ingest would,
listing every problem; ``codebook`` writes a data dictionary per trial (HTML and CSV).
"""

from ._codebook import CodebookResult, codebook
from ._draft import draft_trial, trial_id_from
from ._init import InitResult, init_project
from ._profile import ColumnProfile, FileProfile, profile_file
from ._record import TODO, Confidence, Draft, Field, is_todo
from ._validate import Problem, ValidationReport, validate
from ._write import draft_toml

__all__ = [
    "TODO",
    "CodebookResult",
    "ColumnProfile",
    "Confidence",
    "Draft",
    "Field",
    "FileProfile",
    "InitResult",
    "Problem",
    "ValidationReport",
    "codebook",
    "draft_toml",
    "draft_trial",
    "init_project",
    "is_todo",
    "profile_file",
    "trial_id_from",
    "validate",
]
