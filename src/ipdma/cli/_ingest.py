"""CLI commands: ipdma ingest, ipdma check (registered on ipdma.cli._app.app)."""
