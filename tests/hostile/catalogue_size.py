"""Print the hostile catalogue's size by kind (``python -m tests.hostile.catalogue_size``).

Cases marked ``as_user`` are permission faults that run as an unprivileged user under root.
"""

from __future__ import annotations

from collections import Counter

from . import _cases_faults, _cases_files, _cases_identifiers, _cases_project  # noqa: F401
from ._catalogue import CASES


def main() -> None:
    kinds = Counter(case.kind for case in CASES)
    as_user = Counter(case.kind for case in CASES if case.as_user)
    width = max(map(len, kinds))
    for kind, count in sorted(kinds.items(), key=lambda item: (-item[1], item[0])):
        extra = f"  ({as_user[kind]} as an unprivileged user)" if as_user[kind] else ""
        print(f"{kind:<{width}}  {count:>3}{extra}")
    print(f"{'total':<{width}}  {len(CASES):>3}")


if __name__ == "__main__":
    main()
