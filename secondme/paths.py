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


def home(given: Path | str | None = None) -> Path:
    """The data home (created on first use): ``given``, else ``$SECONDME_HOME``, else the platform's."""
    env = os.environ.get("SECONDME_HOME")
    if given is not None:
        path = Path(given).expanduser()
    elif env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    private_umask()
    if not path.is_dir():
        try:
            path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        except OSError as exc:
            from secondme.errors import StoreError

            # A home under (or at) a regular file, or in a folder one may not write.
            reason = (
                "a file is in the way" if isinstance(exc, (NotADirectoryError, FileExistsError)) else None
            )
            raise StoreError(
                f"cannot use {path} as the data home: {reason or exc.strerror or exc}",
                hint="point SECONDME_HOME at a folder you can write; a missing one is created",
            ) from exc
    if str(path) not in _secured:
        _chmod(path, PRIVATE_DIR)
        _secured.add(str(path))
    return path


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_secured: set[str] = set()
_walked: set[str] = set()


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


def secure_tree(root: Path | None = None, once: bool = False) -> None:
    """Set 0700 on every directory and 0600 on every file under the home (symlinks left alone).

    ``once``: only the first time this process opens that home.  Files made afterwards are
    private already (:func:`private_umask`); what an older version left open needs one walk.
    """
    root = root or home()
    if once:
        if str(root) in _walked:
            return
        _walked.add(str(root))
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


def db_path(given_home: Path | None = None) -> Path:
    """The SQLite database: the source of truth."""
    return home(given_home) / "secondme.db"


def chroma_dir(given_home: Path | None = None) -> Path:
    """The Chroma directory: vectors derived from the database."""
    return home(given_home) / "chroma"


def config_path(given_home: Path | None = None) -> Path:
    """The user's ``config.toml`` inside the home."""
    return home(given_home) / "config.toml"


def logs_dir(given_home: Path | None = None) -> Path:
    """Log files (the watcher's, for instance)."""
    path = home(given_home) / "logs"
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
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
