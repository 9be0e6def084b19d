"""CLI commands: ipdma report, ipdma run, ipdma demo (registered on ipdma.cli._app.app)."""
