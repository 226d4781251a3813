"""The vault with the passphrase fallback: add, get, list, rm, rekey, and every way it must refuse."""

from __future__ import annotations

import json
import sqlite3

import pytest

from secondme import paths
from secondme.errors import EXIT_VAULT, NotFoundError, TamperedError, VaultLockedError, WrongPassphraseError
from secondme.memory import NewMemory
from secondme.service import Secondme
from tests.conftest import holds_outside_hex, run_mem

PW = {"SECONDME_VAULT_PASSPHRASE": "correct horse battery"}


def db_bytes() -> bytes:
    """Every byte of the database files (WAL included)."""
    home = paths.home()
    return b"".join(p.read_bytes() for p in sorted(home.glob("secondme.db*")) if p.is_file())


def db_holds(digits: bytes) -> bool:
    """Whether a short run of digits is in the database files outside hex text."""
    return holds_outside_hex(db_bytes(), digits)


def fail_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


def test_add_get_list_rm_through_the_cli():
    added = run_mem(
        "vault", "add", "wifi-password", "--caption", "home wifi", input="Blue-Meadow-42\n", env=PW
    )
    assert added.returncode == 0, added.stderr
    assert "Blue-Meadow-42" not in added.stdout
    assert b"Blue-Meadow-42" not in db_bytes()
    got = run_mem("vault", "get", "wifi-password", env=PW)
    assert (got.returncode, got.stdout) == (0, "Blue-Meadow-42\n")
    listed = run_mem("vault", "list", "--json", env=PW)
    entries = json.loads(listed.stdout)
    assert [(e["label"], e["caption"]) for e in entries] == [("wifi-password", "home wifi")]
    assert "Blue-Meadow" not in listed.stdout
    # The vault memory shows the label and caption only; it is never searchable by keyword.
    shown = run_mem("list", "--type", "vault", "--json", env=PW)
    assert json.loads(shown.stdout)[0]["text"] == "[vault:wifi-password] home wifi"
    assert run_mem("search", "wifi", "--json", env=PW).stdout.strip() in ("[]", "")
    doctor = run_mem("doctor", env=PW)
    assert "key wrapped by a passphrase" in doctor.stdout
    removed = run_mem("vault", "rm", "wifi-password", env=PW)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(run_mem("vault", "list", "--json", env=PW).stdout) == []
    assert json.loads(run_mem("list", "--type", "vault", "--json", env=PW).stdout) == []
    audit = (paths.logs_dir() / "audit.log").read_text()
    assert '"vault.read"' in audit and '"vault.remove"' in audit and "Blue-Meadow" not in audit


def test_the_value_never_comes_from_the_command_line():
    result = run_mem("vault", "add", "pin", "4921", env=PW)
    assert result.returncode == 2  # an unexpected argument: nothing stored
    assert not db_holds(b"4921") if paths.db_path().exists() else True


def test_mem_add_type_vault_stores_only_ciphertext():
    result = run_mem("add", "My bank PIN is 4921", "--type", "vault", "--json", env=PW)
    assert result.returncode == 0, result.stderr
    memory = json.loads(run_mem("show", str(json.loads(result.stdout)["id"]), "--json", env=PW).stdout)
    assert memory["text"] == "My bank PIN is [vault:bank-pin]"
    assert not db_holds(b"4921")
    assert run_mem("vault", "get", "bank-pin", env=PW).stdout == "4921\n"
    # A vault memory with no recognisable secret is encrypted whole.
    whole = run_mem("add", "locker combination left 12 right 7", "--type", "vault", "--json", env=PW)
    shown = json.loads(run_mem("show", str(json.loads(whole.stdout)["id"]), "--json", env=PW).stdout)
    assert shown["text"] == "[vault:secret]"
    assert b"combination" not in db_bytes()
    assert run_mem("vault", "get", "secret", env=PW).stdout == "locker combination left 12 right 7\n"


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["vault", "get", "nope"], PW, 3, "no vault entry 'nope'"),
        (["vault", "rm", "nope"], PW, 3, "no vault entry 'nope'"),
        (["vault", "add", "bad label!"], PW, 2, "invalid vault label"),
        (
            ["vault", "get", "wifi"],
            {"SECONDME_VAULT_PASSPHRASE": "wrong"},
            EXIT_VAULT,
            "wrong vault passphrase",
        ),
        (["vault", "get", "wifi"], {}, EXIT_VAULT, "needs its passphrase and there is no terminal"),
        (["vault", "add", "wifi"], PW, 2, "already holds 'wifi'"),
    ],
)
def test_bad_input_is_one_clear_line_and_loses_nothing(args, env, code, message):
    assert run_mem("vault", "add", "wifi", input="s3cret-Value", env=PW).returncode == 0
    before = db_bytes()
    result = run_mem(*args, input="other", env=env)
    assert result.returncode == code, result.stderr
    assert message in fail_line(result)
    assert "s3cret-Value" not in result.stdout + result.stderr
    assert run_mem("vault", "get", "wifi", env=PW).stdout == "s3cret-Value\n"
    assert len(db_bytes()) >= len(before) // 2  # still there


def test_copy_without_a_clipboard_tool_is_a_clear_error(tmp_path):
    assert run_mem("vault", "add", "wifi", input="s3cret-Value", env=PW).returncode == 0
    import sys

    bare = tmp_path / "bin"
    bare.mkdir()
    result = run_mem("vault", "get", "wifi", "--copy", env={**PW, "PATH": str(bare)})
    assert result.returncode == EXIT_VAULT
    assert "no clipboard tool found" in fail_line(result)
    assert sys.executable  # the interpreter is called by path, so PATH may be empty


def open_vault(passphrase: str = "correct horse battery") -> Secondme:
    app = Secondme()
    app.vault.use_passphrase(passphrase)
    return app


def test_tampered_or_swapped_ciphertexts_never_decrypt_wrongly():
    app = open_vault()
    app.vault_add("a", "value-of-a")
    app.vault_add("b", "value-of-b")
    conn = sqlite3.connect(paths.db_path())
    # Swap the two ciphertexts: each is bound to its label, so neither opens as the other.
    rows = {
        label: bytes(nonce) + bytes(sealed)
        for label, nonce, sealed in conn.execute("SELECT label, nonce, ciphertext FROM vault_entries")
    }
    for label, other in (("a", "b"), ("b", "a")):
        nonce, sealed = rows[other][:12], rows[other][12:]
        conn.execute(
            "UPDATE vault_entries SET nonce = ?, ciphertext = ? WHERE label = ?", (nonce, sealed, label)
        )
    conn.commit()
    fresh = open_vault()
    for label in ("a", "b"):
        with pytest.raises(TamperedError, match="failed its integrity check"):
            fresh.vault.get(label)
    # One flipped bit in a ciphertext is caught too.
    conn.execute(
        "UPDATE vault_entries SET nonce = ?, ciphertext = ? WHERE label = 'a'",
        (rows["a"][:12], rows["a"][12:]),
    )
    flipped = bytearray(rows["b"][12:])
    flipped[3] ^= 1
    conn.execute(
        "UPDATE vault_entries SET nonce = ?, ciphertext = ? WHERE label = 'b'",
        (rows["b"][:12], bytes(flipped)),
    )
    conn.commit()
    fresh = open_vault()
    assert fresh.vault.get("a") == "value-of-a"
    with pytest.raises(TamperedError):
        fresh.vault.get("b")
    # A changed key record is refused, not used.
    conn.execute("UPDATE vault_keys SET wrapped_key = zeroblob(48)")
    conn.commit()
    with pytest.raises(WrongPassphraseError):
        open_vault().vault.get("a")
    conn.close()


def test_wrong_passphrase_and_unknown_label_raise_their_own_errors():
    open_vault().vault_add("pin", "4921")
    with pytest.raises(WrongPassphraseError):
        open_vault("not it").vault.get("pin")
    with pytest.raises(NotFoundError):
        open_vault().vault.get("other")
    with pytest.raises(VaultLockedError, match="no terminal"):
        Secondme().vault.get("pin")  # no passphrase given and none can be asked for
    assert open_vault().vault.get("pin") == "4921"


def test_rekey_reencrypts_everything_under_a_new_passphrase():
    app = open_vault()
    app.vault_add("one", "first secret")
    app.vault_add("two", "second secret")
    before = sqlite3.connect(paths.db_path()).execute("SELECT ciphertext FROM vault_entries").fetchall()
    result = run_mem("vault", "rekey", env={**PW, "SECONDME_VAULT_NEW_PASSPHRASE": "a brand new one"})
    assert result.returncode == 0, result.stderr
    after = sqlite3.connect(paths.db_path()).execute("SELECT ciphertext FROM vault_entries").fetchall()
    assert not set(before) & set(after)
    assert run_mem("vault", "get", "one", env=PW).returncode == EXIT_VAULT  # the old passphrase is gone
    new = {"SECONDME_VAULT_PASSPHRASE": "a brand new one"}
    assert run_mem("vault", "get", "two", env=new).stdout == "second secret\n"


def test_doctor_repair_encrypts_vault_text_an_older_version_stored_in_plain_text():
    app = open_vault()
    app.add(NewMemory("an ordinary memory"))
    # What a version before the vault stored: the secret itself in a vault memory, and its history.
    with app.store.transaction():
        app.store.conn.execute(
            "INSERT INTO memories (type, text, source_kind, recorded_at, content_hash) "
            "VALUES ('vault', 'Bank app PIN 8837-1123', 'cli', '2024-01-01T00:00:00', 'x')"
        )
        app.store.conn.execute(
            "INSERT INTO history (memory_id, version, changed_at, change, snapshot) "
            "VALUES (2, 1, '2024-01-01', 'edit', '{\"text\": \"Bank app PIN 8837-1123\"}')"
        )
    found = run_mem("doctor", env=PW)
    assert found.returncode == 1 and "1 vault memories hold plain text" in found.stdout
    repaired = run_mem("doctor", "--repair", env=PW)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert not db_holds(b"8837")
    text = json.loads(run_mem("show", "2", "--json", env=PW).stdout)["text"]
    assert text == "Bank app PIN [vault:app-pin]"
    assert run_mem("vault", "get", "app-pin", env=PW).stdout == "8837-1123\n"


def test_a_memory_moved_into_the_vault_leaves_no_earlier_version_behind():
    app = open_vault()
    memory, _ = app.add(NewMemory("garage door code 55-81-29 left side"))
    app.edit(memory.id, text="garage door code 55-81-29 (left side)")
    app.edit(memory.id, type="vault")
    assert app.store.history(memory.id) == []
    assert app.store.get(memory.id).text.startswith("[vault:")
    assert b"55-81-29" not in db_bytes()


def test_supersede_and_set_core_scrub_like_add():
    app = open_vault()
    old, _ = app.add(NewMemory("the office door code changes monthly"))
    new = app.supersede(old.id, NewMemory("the office door PIN is 551903"))
    assert new.text == "the office door PIN is [vault:door-pin]"
    core = app.set_core("bank", "My bank PIN is 774120")
    assert core.text == "My bank PIN is [vault:bank-pin]"
    assert not db_holds(b"551903") and not db_holds(b"774120")
