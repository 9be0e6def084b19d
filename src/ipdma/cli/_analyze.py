"""CLI commands: ipdma analyze (registered on ipdma.cli._app.app)."""
