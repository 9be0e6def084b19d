"""CLI commands: ipdma simulate (registered on ipdma.cli._app.app)."""
