"""Where secondme keeps things.

The data home holds the SQLite database, the Chroma directory, logs and ``config.toml``:
``$SECONDME_HOME``, else the platform's user data dir.  Assembled model files live in the user
cache dir (``$SECONDME_CACHE`` overrides), shared by every home.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "secondme"


def home() -> Path:
    """The data home (created on first use)."""
    env = os.environ.get("SECONDME_HOME")
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """The cache shared by every home: assembled model files and saved prompt states."""
    env = os.environ.get("SECONDME_CACHE")
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path() -> Path:
    """The SQLite database: the source of truth."""
    return home() / "secondme.db"


def chroma_dir() -> Path:
    """The Chroma directory: vectors derived from the database."""
    return home() / "chroma"


def config_path() -> Path:
    """The user's ``config.toml`` inside the home."""
    return home() / "config.toml"


def logs_dir() -> Path:
    """Log files (the watcher's, for instance)."""
    path = home() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Assembled model files (in the shared cache)."""
    path = cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def daemon_socket() -> Path:
    """The unix socket the daemon serves the core's API on (mode 0600)."""
    return home() / "daemon.sock"


def daemon_pid() -> Path:
    """The running daemon's pid file (the lock file beside it says whether it runs)."""
    return home() / "daemon.pid"
