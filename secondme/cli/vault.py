"""``mem vault``: secrets kept encrypted (add, get, list, rm, rekey).

A value is never taken from the command line (it would land in the shell history and in the
process list): it is asked for with a hidden prompt, or read from stdin.
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
import sys
from typing import Annotated

import typer

from secondme.cli.core import open_core
from secondme.cli.options import JsonOpt
from secondme.cli.output import emit_json
from secondme.errors import InputError, VaultError

vault_app = typer.Typer(
    help="Secrets kept encrypted (AES-256-GCM); the key lives in the OS keyring or behind a passphrase.",
    no_args_is_help=True,
)

LabelArg = Annotated[str, typer.Argument(help="The entry's label, e.g. wifi-password.")]

# Clipboard tools, most specific first: Wayland, X11 (two), macOS.
_CLIPBOARDS = (
    ["wl-copy"],
    ["xclip", "-selection", "clipboard"],
    ["xsel", "--clipboard", "--input"],
    ["pbcopy"],
)


def _read_value(label: str) -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        value = getpass.getpass(f"Value for {label} (hidden): ")
    else:
        value = sys.stdin.read() if sys.stdin is not None else ""
        value = value[:-1] if value.endswith("\n") else value
    if not value.strip():
        raise InputError("the secret value is empty", hint="type it at the prompt or pipe it on stdin")
    return value


@vault_app.command("add")
def add(
    label: LabelArg,
    caption: Annotated[
        str | None, typer.Option("--caption", "-c", help="What it is (shown in listings; not secret).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Store a secret: the value comes from a hidden prompt or stdin, never from the command line."""
    from secondme.vault import check_label

    label = check_label(label)
    app = open_core(local=True)
    if app.vault.has(label):
        raise InputError(
            f"the vault already holds {label!r}", hint=f"remove it first with `mem vault rm {label}`"
        )
    memory = app.vault_add(label, _read_value(label), caption=caption)
    if json_:
        emit_json({"label": label, "memory_id": memory.id, "backend": app.vault.backend()})
    else:
        typer.echo(f"Stored {label!r} in the vault (#{memory.id}, key in the {app.vault.backend()}).")


@vault_app.command("get")
def get(
    label: LabelArg,
    copy: Annotated[
        bool, typer.Option("--copy", help="Copy to the clipboard instead of printing it.")
    ] = False,
) -> None:
    """Decrypt a secret and print it (or copy it to the clipboard)."""
    app = open_core(local=True)
    value = app.vault.get(label, purpose="copy" if copy else "print")
    if not copy:
        typer.echo(value)
        return
    for command in _CLIPBOARDS:
        if shutil.which(command[0]):
            result = subprocess.run(command, input=value, text=True, capture_output=True, check=False)
            if result.returncode == 0:
                typer.echo(f"Copied {label!r} to the clipboard.")
                return
            raise VaultError(
                f"{command[0]} could not copy: {result.stderr.strip() or result.returncode}",
                hint="print it instead (without --copy)",
            )
    raise VaultError(
        "no clipboard tool found", hint="install wl-clipboard, xclip or xsel, or print it (without --copy)"
    )


@vault_app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """Labels and captions (values stay encrypted)."""
    entries = open_core(local=True).vault.entries()
    if json_:
        emit_json([e.to_dict() for e in entries])
        return
    if not entries:
        typer.echo("The vault is empty. Add a secret with: mem vault add LABEL")
    for entry in entries:
        caption = f"  {entry.caption}" if entry.caption else ""
        typer.echo(f"{entry.label:<28} {entry.kind:<14}{caption}".rstrip())


@vault_app.command("rm")
def rm(label: LabelArg, json_: JsonOpt = False) -> None:
    """Delete a secret (and forget its vault memory for good)."""
    app = open_core(local=True)
    referencing = app.vault.referencing(label)
    forgotten = app.vault_remove(label)
    if json_:
        emit_json({"removed": label, "forgotten": forgotten, "still_referenced_by": referencing})
        return
    typer.echo(f"Removed {label!r} from the vault.")
    others = [i for i in referencing if i not in forgotten]
    if others:
        typer.echo(
            f"Memories {', '.join(f'#{i}' for i in others)} still name [vault:{label}]; "
            "their placeholder now shows nothing.",
            err=True,
        )


@vault_app.command("rekey")
def rekey(
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="Keep the new key in the OS 'keyring' or behind a 'passphrase' (default: as now).",
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Re-encrypt every secret under a new data key (optionally moving the key to the other backend).

    With a passphrase, the current one comes from SECONDME_VAULT_PASSPHRASE (or a prompt) and the
    new one from SECONDME_VAULT_NEW_PASSPHRASE (or a prompt).
    """
    app = open_core(local=True)
    used = app.vault.rekey(backend.strip().lower() if backend else None)
    count = app.vault.count()
    if json_:
        emit_json({"backend": used, "entries": count})
    else:
        typer.echo(f"Re-encrypted {count} secrets under a new key (kept in the {used}).")


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.add_typer(vault_app, name="vault")
