"""An example plugin: append every new memory's id, type and first words to logs/added.log.

Use it by copying this file into the plugins folder of your data home (`mem config path` shows
the home; the folder is `<home>/plugins`), or point SECONDME_PLUGINS_DIR at this directory.
"""

from __future__ import annotations

from typing import Any

from secondme import paths
from secondme.hookspecs import hookimpl


@hookimpl
def memory_added(memory: Any) -> None:
    """Record the new memory in the log (one line, tab-separated)."""
    words = " ".join(memory.text.split()[:8])
    with open(paths.logs_dir() / "added.log", "a", encoding="utf-8") as handle:
        handle.write(f"{memory.recorded_at}\t{memory.id}\t{memory.type.value}\t{words}\n")
