"""Where secondme keeps things.

The data home holds the SQLite database, the Chroma directory, logs and ``config.toml``:
``$SECONDME_HOME``, else the platform's user data dir.  Assembled model files live in the user
cache dir (``$SECONDME_CACHE`` overrides), shared by every home.

The home is private whatever the umask: the directory is 0700, its files 0600.  Opening it also
tightens the process umask (077), so that files SQLite, Chroma and the logs create later are
private from the start.
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
    private_umask()
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if str(path) not in _secured:
        _chmod(path, PRIVATE_DIR)
        _secured.add(str(path))
    return path


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_secured: set[str] = set()


def private_umask() -> None:
    """Make files this process creates from now on private (group and others get nothing)."""
    current = os.umask(0o077)
    os.umask(current | 0o077)


def _chmod(path: Path, mode: int) -> None:
    try:
        if (path.stat().st_mode & 0o777) != mode:
            path.chmod(mode)
    except OSError:
        pass  # not ours (a shared mount): nothing to tighten


def secure_tree(root: Path | None = None) -> None:
    """Set 0700 on every directory and 0600 on every file under the home (symlinks left alone)."""
    root = root or home()
    _chmod(root, PRIVATE_DIR)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            sub = Path(folder, name)
            if not sub.is_symlink():
                _chmod(sub, PRIVATE_DIR)
        for name in files:
            file = Path(folder, name)
            if not file.is_symlink():
                _chmod(file, PRIVATE_FILE)


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
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    return path


def models_dir() -> Path:
    """Assembled model files (in the shared cache)."""
    path = cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
