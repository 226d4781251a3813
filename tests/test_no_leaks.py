"""Secrets never leak: planted through every way in, then searched for byte by byte everywhere.

Each way in is its own test case; each plants a different secret, then every file under the data
home (database, WAL, Chroma, logs), an export, the printed listings and every prompt sent to the
model are searched for the secret's distinctive words (lowercased, as the full-text index
stores them).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secondme import paths
from secondme.answer import ask
from secondme.service import Secondme
from tests.conftest import holds_outside_hex, run_mem

PW = {"SECONDME_VAULT_PASSPHRASE": "leak test passphrase"}


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECONDME_VAULT_PASSPHRASE", PW["SECONDME_VAULT_PASSPHRASE"])


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the check digit that makes it a valid card number."""
    for digit in "0123456789":
        number = prefix + digit
        total = sum(
            (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 else d
            for i, d in enumerate(int(c) for c in reversed(number))
        )
        if total % 10 == 0:
            return number
    raise AssertionError


CARD = luhn_complete("453914880343646")


def ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return result


def plant_typed_semantic(tmp: Path) -> None:
    ok(run_mem("add", "my password for github is Tr0ub4dorQ&3", "--type", "semantic"))


def plant_untyped_aws_key(tmp: Path) -> None:
    ok(run_mem("add", "AWS key AKIAJ7QXZ3KD94MPLW2R for the backup bucket"))


def plant_aws_secret(tmp: Path) -> None:
    ok(run_mem("add", "aws_secret_access_key = qZ8vK2mX9pL4nR7tW1yB3cD6fG0hJ5sAeUiOoP3k"))


def plant_edit(tmp: Path) -> None:
    added = json.loads(ok(run_mem("add", "gmail account notes", "--json")).stdout)
    ok(run_mem("edit", str(added["id"]), "--text", "my password for gmail is Hunter2xyzQ"))


def plant_core(tmp: Path) -> None:
    ok(run_mem("core", "set", "pin", "My bank PIN is 739164"))


def plant_vault_type(tmp: Path) -> None:
    ok(run_mem("add", "locker code is Xk29-Pq71-Lm04", "--type", "vault"))


def plant_vault_add(tmp: Path) -> None:
    ok(run_mem("vault", "add", "router", "--caption", "router admin", input="Rtr-Adm1n-Zq88\n"))


def plant_import(tmp: Path) -> None:
    lines = [
        {"text": "the alarm password is Al4rm-Kq93x", "type": "semantic"},
        {"text": "My safe PIN is 204817", "type": "core", "label": "safe"},
    ]
    file = tmp / "import.jsonl"
    file.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    ok(run_mem("import", str(file)))


def plant_note(tmp: Path) -> None:
    notes = tmp / "notes"
    notes.mkdir()
    (notes / "accounts.md").write_text(
        "# Accounts\n\nThe wifi password: Wf-Gr33n-Tea!\n\n"
        f"## Cards\n\nSpare card {CARD} lives in the drawer.\n"
    )
    ok(run_mem("ingest", str(notes)))


def plant_chat(tmp: Path) -> None:
    chats = tmp / "chats"
    chats.mkdir()
    (chats / "WhatsApp Chat with Ana.txt").write_text(
        "[05.05.23, 15:48:11] Ana: can you send the rent?\n"
        "[05.05.23, 15:49:02] Me: sure, my IBAN is GB82WEST12345698765432\n"
        "[05.05.23, 15:50:40] Ana: and the netflix password is Nflx-77-Blue!\n"
    )
    ok(run_mem("ingest", str(chats)))


def plant_screenshot(tmp: Path) -> None:
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr)")
    from PIL import Image, ImageDraw, ImageFont

    shots = tmp / "shots"
    shots.mkdir()
    image = Image.new("RGB", (900, 160), "white")
    ImageDraw.Draw(image).text(
        (20, 50), "Gate PIN is 582947", fill="black", font=ImageFont.load_default(size=40)
    )
    image.save(shots / "gate.png")
    ok(run_mem("ingest", str(shots)))


PATHS: dict[str, tuple[Callable[[Path], None], list[str], str]] = {
    # name: (how it is planted, the secret, the question that would bring it up)
    "add --type semantic": (plant_typed_semantic, ["Tr0ub4dorQ&3"], "what is my github password?"),
    "add (type guessed)": (plant_untyped_aws_key, ["AKIAJ7QXZ3KD94MPLW2R"], "what is my AWS key?"),
    "add aws secret": (plant_aws_secret, ["qZ8vK2mX9pL4nR7tW1yB3cD6fG0hJ5sAeUiOoP3k"], "aws secret key?"),
    "edit": (plant_edit, ["Hunter2xyzQ"], "what is my gmail password?"),
    "core set": (plant_core, ["739164"], "what is my bank PIN?"),
    "add --type vault": (plant_vault_type, ["Xk29-Pq71-Lm04"], "what is my locker code?"),
    "vault add": (plant_vault_add, ["Rtr-Adm1n-Zq88"], "router admin password?"),
    "import": (plant_import, ["Al4rm-Kq93x", "204817"], "what is the alarm password and my safe PIN?"),
    "ingest note": (plant_note, ["Wf-Gr33n-Tea!", CARD], "what is the wifi password? which card?"),
    "ingest chat": (plant_chat, ["GB82WEST12345698765432", "Nflx-77-Blue!"], "what is my IBAN? netflix?"),
    "ingest screenshot (OCR)": (plant_screenshot, ["582947"], "what is the gate PIN?"),
}


def needles(secret: str) -> list[bytes]:
    """The secret and each of its distinctive pieces, lowercased (FTS keeps lowercased tokens)."""
    pieces = {secret.lower()} | {p for p in re.split(r"[^0-9a-z]+", secret.lower()) if len(p) >= 5}
    return [p.encode() for p in pieces]


def files_under(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())


class RecordingLLM:
    """Stands for the model: keeps every prompt it is sent, answers with a fixed sentence."""

    name = "recorder"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def chat(self, messages: list[dict[str, str]], max_tokens: int = 0) -> Iterator[str]:
        self.prompts.append(json.dumps(messages, ensure_ascii=False))
        yield "It is in the vault [1]."

    def prime(self, messages: list[dict[str, str]]) -> None:
        self.prompts.append(json.dumps(messages, ensure_ascii=False))


@pytest.mark.parametrize("way", list(PATHS))
def test_a_secret_planted_this_way_is_nowhere_in_plain_text(way, tmp_path):
    plant, secrets, question = PATHS[way]
    plant(tmp_path)
    app = Secondme()
    # The secret went to the vault: it decrypts there.
    values = [app.vault.get(e.label) for e in app.vault.entries()]
    for secret in secrets:
        assert any(secret in value for value in values), (secret, values)

    export = tmp_path / "export.jsonl"
    ok(run_mem("export", "-o", str(export)))
    outputs = [
        ok(run_mem("list", "--all", "--json")).stdout,
        ok(run_mem("list", "--type", "vault")).stdout,
        ok(run_mem("core")).stdout,
        ok(run_mem("search", question, "--json")).stdout,
        ok(run_mem("vault", "list", "--json")).stdout,
        ok(run_mem("doctor", "--json")).stdout,
    ]
    llm = RecordingLLM()
    ask(Secondme(), question, llm=llm)
    ask(Secondme(), "tell me everything you know", llm=llm)
    if way not in ("add --type vault", "vault add"):  # those leave no memory for a prompt to hold
        assert any("[vault:" in p for p in llm.prompts), llm.prompts

    places: dict[str, bytes] = {str(p): p.read_bytes().lower() for p in files_under(paths.home())}
    places["export"] = export.read_bytes().lower()
    places.update({f"output {n}": o.lower().encode() for n, o in enumerate(outputs)})
    places.update({f"prompt {n}": p.lower().encode() for n, p in enumerate(llm.prompts)})
    assert any(name.endswith("secondme.db") for name in places)
    assert any("/logs/" in name for name in places)  # the audit log is searched too
    for secret in secrets:
        for needle in needles(secret):
            # A short run of digits also turns up by chance in hex ciphertext and MACs.
            found = holds_outside_hex if needle.isdigit() and len(needle) < 16 else bytes.__contains__
            leaks = [name for name, data in places.items() if found(data, needle)]
            assert not leaks, f"{needle!r} found in {leaks}"


def test_ask_names_the_vault_label_and_fills_it_in_only_when_allowed():
    ok(run_mem("add", "my wifi password is Blue-Meadow-42"))
    llm = RecordingLLM()
    answer = ask(Secondme(), "what is my wifi password?", llm=llm)
    assert "Blue-Meadow" not in "".join(llm.prompts)
    assert any(h.memory.text == "my wifi password is [vault:wifi-password]" for h in answer.hits)
    plain = ok(run_mem("ask", "what is my wifi password?", env={"SECONDME_LLM_MODEL": "smollm2-135m"}))
    assert "In the vault: wifi-password" in plain.stdout
    assert "Blue-Meadow" not in plain.stdout
    allowed = ok(
        run_mem(
            "ask", "what is my wifi password?", "--allow-vault", env={"SECONDME_LLM_MODEL": "smollm2-135m"}
        )
    )
    assert "Blue-Meadow-42" in allowed.stdout
    audit = (paths.logs_dir() / "audit.log").read_text()
    assert "ask --allow-vault" in audit and "Blue-Meadow" not in audit


def test_the_home_is_private_whatever_the_umask(tmp_path):
    import os
    import stat
    import subprocess
    import sys

    home = paths.home()
    shutil.rmtree(home)
    script = (
        "import os, subprocess, sys; os.umask(0o022); "
        "sys.exit(subprocess.run([sys.executable, '-m', 'secondme', *sys.argv[1:]]).returncode)"
    )
    env = {**os.environ, **PW}
    for args in (
        ["add", "a memory with a vector"],
        ["vault", "add", "k"],
        ["search", "memory"],
        ["forget", "1"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", script, *args], input="v4lue-Of-K", text=True, capture_output=True, env=env
        )
        assert done.returncode == 0, done.stderr
    seen = list(home.rglob("*"))
    assert any(p.name == "chroma.sqlite3" for p in seen) and any(p.name == "audit.log" for p in seen)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in seen:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
