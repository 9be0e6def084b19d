"""``python -m ipdma`` runs the command-line interface."""

from ipdma.cli import main

raise SystemExit(main())
