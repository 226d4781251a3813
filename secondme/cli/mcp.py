"""``mem mcp``: serve memories to MCP clients (editors, agents) over stdio."""

from __future__ import annotations

import typer


def mcp() -> None:
    """Run the MCP server on stdin/stdout (register it with your MCP client; see docs/mcp.md).

    Read-only unless [mcp] allow_writes = true in config.toml (or SECONDME_MCP_ALLOW_WRITES=1);
    the vault is never exposed.
    """
    from secondme.mcp import serve

    serve()


def register(app: typer.Typer) -> None:
    """Add this command to ``app``."""
    app.command("mcp")(mcp)
