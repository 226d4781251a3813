"""Looking after the data home: reindex, doctor, models, config."""

from __future__ import annotations

from typing import Annotated

import typer

from secondme.cli.core import open_core
from secondme.cli.options import JsonOpt
from secondme.cli.output import emit_json


def reindex(json_: JsonOpt = False) -> None:
    """Rebuild the vector index from the database."""
    count = open_core().reindex()
    if json_:
        emit_json({"indexed": count})
    else:
        typer.echo(f"Indexed {count} memories.")


def _some(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids[:20]) + (" …" if len(ids) > 20 else "")


def doctor(
    repair: Annotated[bool, typer.Option("--repair", help="Fix what is found.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Check that the vector index agrees with the database (missing, orphan, stale vectors)."""
    app = open_core(local=True)
    report = app.doctor(repair=repair)
    vault = app.vault.status()
    plain = app.plaintext_vault()
    if plain and repair:
        vault["sealed"] = app.seal_plaintext_vault()
        plain = app.plaintext_vault()
    vault["plaintext_memories"] = plain
    if json_:
        emit_json({**report.to_dict(), "vault": vault})
    else:
        typer.echo(f"memories: {report.memories}   vectors: {report.vectors}   index: {report.index}")
        typer.echo(f"vault: {_vault_line(vault)}")
        if vault.get("sealed"):
            typer.echo(f"encrypted the text of {len(vault['sealed'])} vault memories stored in plain text")
        if plain:
            typer.echo(
                f"{len(plain)} vault memories hold plain text ({', '.join(map(str, plain[:20]))}); "
                "run `mem doctor --repair` to encrypt them"
            )
        for name in ("missing", "orphans", "stale"):
            ids = getattr(report, name)
            if ids:
                typer.echo(f"{name}: {len(ids)} ({_some(ids)})")
        if report.waiting:
            later = "indexed now" if report.repaired else "the next search indexes them"
            typer.echo(f"waiting for a vector: {len(report.waiting)} ({_some(report.waiting)}); {later}")
        if report.healthy:
            typer.echo("The vector index agrees with the database.")
        elif report.repaired:
            typer.echo("Repaired.")
        else:
            typer.echo("Run `mem doctor --repair` to fix this.")
    if plain:
        from secondme.errors import SecondmeError

        raise SecondmeError(
            f"{len(plain)} vault memories hold plain text", hint="run `mem doctor --repair` to encrypt them"
        )
    if not report.healthy and not report.repaired:
        from secondme.errors import SecondmeError

        raise SecondmeError(
            "the vector index disagrees with the database", hint="run `mem doctor --repair` to fix it"
        )


def _vault_line(vault: dict[str, object]) -> str:
    entries = f"{vault['entries']} entries"
    if vault["backend"] == "keyring":
        where = (
            f"key in the OS keyring ({vault['keyring']})"
            if vault["keyring"]
            else (f"key in the OS keyring, which cannot be reached now ({vault['keyring_error']})")
        )
    elif vault["backend"] == "passphrase":
        where = "key wrapped by a passphrase (scrypt)"
    else:
        where = f"not set up yet; the first secret will use the {vault['would_use']}"
        if vault.get("keyring_error"):
            where += f" (no keyring: {vault['keyring_error']})"
    return f"{entries}, {where}"


def models(
    verify: Annotated[bool, typer.Option("--verify", help="Re-hash the model files now.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Show the models in use, where they are, and whether their hashes verify."""
    from secondme import config
    from secondme.models import defaults

    settings = config.load()
    rows = []
    for role, table, chosen, custom_path in (
        ("llm", defaults.LLMS, settings.llm.model, settings.llm.model_path),
        ("embedder", defaults.EMBEDDERS, settings.embedder.model, settings.embedder.model_path),
    ):
        for model in table.values():
            info = defaults.status(model)
            if verify and info["installed"]:
                try:
                    defaults.ensure(model, verify=True)
                    info = defaults.status(model)
                except Exception as exc:  # report and go on with the other models
                    info["error"] = str(exc)
            info["role"] = role
            info["in_use"] = model.name == chosen and not custom_path
            rows.append(info)
        if custom_path:
            rows.append(
                {
                    "role": role,
                    "name": custom_path,
                    "path": custom_path,
                    "in_use": True,
                    "installed": True,
                    "verified": None,
                    "description": "your own model file",
                }
            )
    if json_:
        emit_json(rows)
        return
    for info in rows:
        mark = "*" if info["in_use"] else " "
        if not info["installed"]:
            state = f"not installed ({info.get('install')})"
        elif info.get("error"):
            state = f"FAILS: {info['error']}"
        elif info.get("verified") is None:
            state = "user file"
        elif info["verified"]:
            state = "verified"
        else:
            state = "installed, verified on first use"
        typer.echo(f"{mark} {info['role']:<8} {info['name']:<22} {state}")
        if info.get("path"):
            typer.echo(f"           {info['path']}")
    typer.echo("\n* in use. Change with [llm] model / model_path in config.toml (see `mem config path`).")


config_app = typer.Typer(help="Show the settings and where they live.", no_args_is_help=True)


@config_app.command("show")
def config_show(json_: JsonOpt = False) -> None:
    """Show the settings in effect (defaults, config.toml, SECONDME_* variables)."""
    from secondme import config

    data = config.load().to_dict()
    if json_:
        emit_json(data)
        return
    for section, values in data.items():
        if isinstance(values, dict):
            typer.echo(f"[{section}]")
            for key, value in values.items():
                typer.echo(f"{key} = {value!r}")
            typer.echo("")
        else:
            typer.echo(f"{section} = {values!r}")


@config_app.command("path")
def config_path(json_: JsonOpt = False) -> None:
    """Show where the config file, database, vectors and models live."""
    from secondme import paths

    data = {
        "home": str(paths.home()),
        "config": str(paths.config_path()),
        "database": str(paths.db_path()),
        "vectors": str(paths.chroma_dir()),
        "models": str(paths.models_dir()),
        "logs": str(paths.logs_dir()),
    }
    if json_:
        emit_json(data)
    else:
        for key, value in data.items():
            typer.echo(f"{key + ':':<10}{value}")


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.command("reindex")(reindex)
    app.command("doctor")(doctor)
    app.command("models")(models)
    app.add_typer(config_app, name="config")
