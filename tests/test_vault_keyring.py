"""The vault with a real Secret Service keyring: gnome-keyring on a private D-Bus session.

Each step runs ``mem`` inside its own ``dbus-run-session`` with a gnome-keyring daemon whose
keyring files live under the test's temporary directory, so the keyring of the person running the
tests is never touched.  Between sessions the daemon is gone: that is the "no keyring" case.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from secondme import paths
from secondme.errors import EXIT_VAULT

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")),
    reason="needs dbus-run-session and gnome-keyring-daemon (apt-get install dbus-x11 gnome-keyring)",
)

KEYRING_PASSWORD = "login password of the test keyring"


def in_session(
    tmp_path: Path,
    *commands: tuple[list[str], str | None],
    unlock: bool = True,
    env: dict[str, str] | None = None,
) -> list[subprocess.CompletedProcess[str]]:
    """Run ``mem`` commands (args, stdin) one after another inside one keyring session."""
    results = []
    script = tmp_path / "session.py"
    # One Python driver inside the session runs every command and reports each result as JSON.
    script.write_text(
        "import json, subprocess, sys\n"
        "steps = json.loads(sys.argv[1])\n"
        "out = []\n"
        "for args, stdin in steps:\n"
        "    r = subprocess.run([sys.executable, '-m', 'secondme', *args], input=stdin, text=True,\n"
        "                       capture_output=True)\n"
        "    out.append([r.returncode, r.stdout, r.stderr])\n"
        "print(json.dumps(out))\n"
    )
    start = (
        'printf %s "$KEYRING_PW" | gnome-keyring-daemon --unlock --components=secrets >/dev/null'
        if unlock
        else "gnome-keyring-daemon --components=secrets >/dev/null"
    )
    steps = json.dumps([list(c) for c in commands])
    result = subprocess.run(
        [
            "dbus-run-session",
            "--",
            "sh",
            "-c",
            f'{start} && exec "$@"',
            "sh",
            sys.executable,
            str(script),
            steps,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=session_env(tmp_path, env),
    )
    assert result.returncode == 0, result.stderr
    for code, stdout, stderr in json.loads(result.stdout.strip().splitlines()[-1]):
        results.append(subprocess.CompletedProcess([], code, stdout, stderr))
    return results


def session_env(tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS")
    }
    env.update(
        XDG_DATA_HOME=str(tmp_path / "xdg"),
        KEYRING_PW=KEYRING_PASSWORD,
        PYTHONPATH=str(REPO),
        SECONDME_HOME=str(paths.home()),
    )
    env.update(extra or {})
    return env


def outside(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``mem`` with no session bus at all: no keyring backend works."""
    return subprocess.run(
        [sys.executable, "-m", "secondme", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=session_env(tmp_path, env),
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def all_bytes() -> bytes:
    return b"".join(p.read_bytes() for p in paths.home().rglob("*") if p.is_file())


def test_the_key_lives_in_the_keyring_and_the_vault_refuses_without_it(tmp_path):
    add, get, doctor = in_session(
        tmp_path,
        (["vault", "add", "wifi-password", "--caption", "home wifi"], "Blue-Meadow-42"),
        (["vault", "get", "wifi-password"], None),
        (["doctor"], None),
    )
    assert add.returncode == 0, add.stderr
    assert "key in the keyring" in add.stdout
    assert get.stdout == "Blue-Meadow-42\n"
    assert "key in the OS keyring (keyring.backends.SecretService.Keyring)" in doctor.stdout
    assert b"Blue-Meadow-42" not in all_bytes()

    # No session bus: no keyring backend. One clear line, nothing decrypted, nothing lost.
    missing = outside(tmp_path, "vault", "get", "wifi-password")
    assert missing.returncode == EXIT_VAULT
    assert "the vault key is in the OS keyring, which cannot be used" in one_error_line(missing)
    assert "Blue-Meadow" not in missing.stdout

    # A new session that unlocks the same keyring files finds the key again.
    (again,) = in_session(tmp_path, (["vault", "get", "wifi-password"], None))
    assert again.stdout == "Blue-Meadow-42\n"

    # A locked keyring (the daemon runs, nobody unlocked it): refused with one line.
    (locked,) = in_session(tmp_path, (["vault", "get", "wifi-password"], None), unlock=False)
    assert locked.returncode == EXIT_VAULT, locked.stderr
    assert "keyring" in one_error_line(locked)

    # An empty keyring (the entry was deleted): refused with one line, not a wrong key.
    shutil.rmtree(tmp_path / "xdg")
    (gone,) = in_session(tmp_path, (["vault", "get", "wifi-password"], None))
    assert gone.returncode == EXIT_VAULT
    assert "missing from the OS keyring" in one_error_line(gone)


def test_rekey_moves_the_key_between_keyring_and_passphrase(tmp_path):
    passphrase = {"SECONDME_VAULT_NEW_PASSPHRASE": "moved to a passphrase"}
    add, rekey = in_session(
        tmp_path,
        (["vault", "add", "pin"], "kiwi-4921"),
        (["vault", "rekey", "--backend", "passphrase"], None),
        env=passphrase,
    )
    assert add.returncode == 0 and rekey.returncode == 0, rekey.stderr
    assert "kept in the passphrase" in rekey.stdout
    # No keyring needed any more: the passphrase opens it anywhere.
    opened = outside(
        tmp_path, "vault", "get", "pin", env={"SECONDME_VAULT_PASSPHRASE": "moved to a passphrase"}
    )
    assert opened.stdout == "kiwi-4921\n", opened.stderr
    back, got, doctor = in_session(
        tmp_path,
        (["vault", "rekey", "--backend", "keyring"], None),
        (["vault", "get", "pin"], None),
        (["doctor"], None),
        env={"SECONDME_VAULT_PASSPHRASE": "moved to a passphrase"},
    )
    assert back.returncode == 0, back.stderr
    assert got.stdout == "kiwi-4921\n"
    assert "key in the OS keyring" in doctor.stdout
    refused = outside(
        tmp_path, "vault", "get", "pin", env={"SECONDME_VAULT_PASSPHRASE": "moved to a passphrase"}
    )
    assert refused.returncode == EXIT_VAULT
    assert b"kiwi-4921" not in all_bytes()  # not all hex digits: MACs and ids are hex text
