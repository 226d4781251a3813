"""`mem daemon`: keep the models warm in one background process that every command can use."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from secondme.cli.options import JsonOpt
from secondme.cli.output import emit_json

daemon_app = typer.Typer(
    help="A warm background process (models loaded, watcher hosted) that makes commands instant.",
    no_args_is_help=True,
)


@daemon_app.command("run")
def run() -> None:
    """Run the daemon in the foreground (for systemd or launchd); Ctrl-C or SIGTERM stops it."""
    import logging
    import os

    from secondme import daemon

    level = logging.DEBUG if os.environ.get("SECONDME_DEBUG") else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    daemon.serve(announce=lambda line: typer.echo(line, err=True))


@daemon_app.command("start")
def start(
    wait: Annotated[
        float, typer.Option("--wait", min=1, help="Seconds to wait for the daemon to answer.")
    ] = 120.0,
    json_: JsonOpt = False,
) -> None:
    """Start the daemon in the background (its log: `mem daemon status`)."""
    from secondme import daemon

    hello = daemon.start_background(wait_s=wait)
    result = {"started": True, "pid": hello["pid"], "socket": _socket(), "log": str(daemon.log_path())}
    if json_:
        emit_json(result)
    else:
        typer.echo(f"Daemon started (pid {result['pid']}); log: {result['log']}")


@daemon_app.command("stop")
def stop(json_: JsonOpt = False) -> None:
    """Stop the daemon (requests in progress finish first)."""
    from secondme import daemon

    pid = daemon.stop()
    if json_:
        emit_json({"stopped": pid is not None, "pid": pid})
    else:
        typer.echo(f"Daemon stopped (pid {pid})" if pid is not None else "No daemon was running.")


@daemon_app.command("status")
def status(json_: JsonOpt = False) -> None:
    """Whether the daemon runs, what it has loaded, and where its socket and log are."""
    from secondme import daemon
    from secondme.client import DaemonClient, DaemonUnavailable, ProtocolMismatch

    info: dict[str, Any] = {
        "running": False,
        "answering": False,
        "socket": _socket(),
        "log": str(daemon.log_path()),
    }
    try:
        client = DaemonClient.connect(timeout=2.0)
        info.update(client.hello, running=True, answering=True)
        client.close()
    except ProtocolMismatch as exc:
        info.update(running=True, error=exc.message)
    except DaemonUnavailable:
        state = daemon.process_status()
        info.update(running=state["running"], pid=state["pid"], stale_removed=state["stale_removed"])
    if json_:
        emit_json(info)
        return
    if info.get("answering"):
        loaded = [
            name
            for name, key in (("embedder", "embedder_loaded"), ("answer model", "llm_loaded"))
            if info.get(key)
        ]
        typer.echo(f"daemon: running (pid {info['pid']}), loaded: {', '.join(loaded) or 'nothing yet'}")
        if info.get("watching"):
            typer.echo("        hosting the folder watcher")
    elif info["running"]:
        typer.echo(f"daemon: running (pid {info.get('pid')}) but not answering: {info.get('error', 'busy')}")
    else:
        typer.echo("daemon: not running")
        if info.get("stale_removed"):
            left = ", ".join(info["stale_removed"])
            typer.echo(f"        removed what a stopped daemon left behind: {left}")
    typer.echo(f"socket: {info['socket']}\nlog:    {info['log']}")


def _socket() -> str:
    from secondme import paths

    return str(paths.daemon_socket())


def register(app: typer.Typer) -> None:
    """Add the command group to ``app``."""
    app.add_typer(daemon_app, name="daemon")
