"""The vault: secrets encrypted with AES-256-GCM under a random 256-bit data key.

The data key lives in the OS keyring (service ``secondme``, one entry per data home and key).
Where no keyring works, a key derived from a passphrase with scrypt wraps it, and the wrapped key
and the salt are kept in the database; ``SECONDME_VAULT_PASSPHRASE`` gives the passphrase to
scripts.  Every value is encrypted with its label as associated data, so a ciphertext moved to
another entry fails to decrypt instead of showing the wrong secret.

``cryptography`` and ``keyring`` are imported inside the functions that use them: ``mem --help``
stays light.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from secondme import paths, timeparse
from secondme.errors import (
    InputError,
    NotFoundError,
    TamperedError,
    VaultError,
    VaultLockedError,
    WrongPassphraseError,
)
from secondme.store.vault import EntryRecord, KeyRecord, VaultStore

SERVICE = "secondme"
PASSPHRASE_ENV = "SECONDME_VAULT_PASSPHRASE"
NEW_PASSPHRASE_ENV = "SECONDME_VAULT_NEW_PASSPHRASE"
BACKEND_ENV = "SECONDME_VAULT_BACKEND"
KEYRING = "keyring"
PASSPHRASE = "passphrase"
# scrypt cost: 2**15 x 8 uses 32 MiB and about a tenth of a second here; enough to slow guessing.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_CHECK = b"secondme vault key check"
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PLACEHOLDER_RE = re.compile(r"\[vault:([A-Za-z0-9][A-Za-z0-9._-]{0,63})\]")


def placeholder(label: str) -> str:
    """What a memory's text keeps in place of a secret."""
    return f"[vault:{label}]"


def check_label(label: str) -> str:
    """A valid label, or :class:`InputError`."""
    label = (label or "").strip()
    if not LABEL_RE.match(label):
        raise InputError(
            f"invalid vault label {label!r}",
            hint="use 1-64 letters, digits, dots, dashes or underscores, e.g. wifi-password",
        )
    return label


# -- the audit log ----------------------------------------------------------------------------


def audit(event: str, **fields: Any) -> None:
    """Append one line to the audit log (vault reads and forgets; never a secret or memory text)."""
    record = {"at": timeparse.iso(timeparse.now()), "event": event, **fields}
    path = paths.logs_dir() / "audit.log"
    # O_APPEND: lines from several processes never overwrite each other; 0600: private.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode("utf-8"))
    finally:
        os.close(fd)


# -- key storage ------------------------------------------------------------------------------


def _keyring_user(key_id: str) -> str:
    return f"vault:{paths.home().resolve()}:{key_id}"


def _why(exc: BaseException) -> str:
    # keyring's messages run to several sentences and a URL: the first one says it.
    first = str(exc).split(". ")[0].strip().rstrip(".")
    return f"{type(exc).__name__}: {first[:120]}" if first else type(exc).__name__


def _keyring_errors() -> tuple[type[BaseException], ...]:
    from keyring.errors import KeyringError

    # Backends also raise plain D-Bus or OS errors when the service goes away mid-call.
    return (KeyringError, OSError, RuntimeError)


def keyring_backend_name() -> str:
    """The keyring backend ``keyring`` chose (its class path)."""
    import keyring

    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__name__}"


def keyring_usable() -> tuple[bool, str]:
    """Whether the OS keyring answers, and why not when it does not."""
    try:
        import keyring

        keyring.get_password(SERVICE, _keyring_user("probe"))
    except _keyring_errors() as exc:
        return False, _why(exc)
    return True, keyring_backend_name()


def _keyring_get(key_id: str) -> bytes:
    import keyring

    try:
        stored = keyring.get_password(SERVICE, _keyring_user(key_id))
    except _keyring_errors() as exc:
        raise VaultLockedError(
            f"the vault key is in the OS keyring, which cannot be used: {_why(exc)}",
            hint="unlock your keyring (log in to the desktop session) and try again",
        ) from None
    if not stored:
        raise VaultLockedError(
            "the vault key is missing from the OS keyring",
            hint="restore the keyring entry for service 'secondme'; without it the vault cannot be opened",
        )
    return base64.b64decode(stored)


def _keyring_set(key_id: str, key: bytes) -> None:
    import keyring

    try:
        keyring.set_password(SERVICE, _keyring_user(key_id), base64.b64encode(key).decode("ascii"))
    except _keyring_errors() as exc:
        raise VaultLockedError(
            f"cannot store the vault key in the OS keyring: {_why(exc)}",
            hint=f"unlock the keyring, or use a passphrase instead ({BACKEND_ENV}=passphrase)",
        ) from None


def _keyring_delete(key_id: str) -> None:
    import keyring

    try:
        keyring.delete_password(SERVICE, _keyring_user(key_id))
    except _keyring_errors():
        pass  # an old key left behind opens nothing: every entry was re-encrypted


def _kek(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def read_passphrase(new: bool = False) -> str:
    """The passphrase from ``SECONDME_VAULT_PASSPHRASE``, else asked for on the terminal.

    A ``new`` one (setting the vault up, a rekey) comes from ``SECONDME_VAULT_NEW_PASSPHRASE``
    first, and is asked for twice on a terminal.
    """
    env = (os.environ.get(NEW_PASSPHRASE_ENV) if new else None) or os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    if sys.stdin is None or not sys.stdin.isatty():
        raise VaultLockedError(
            "the vault needs its passphrase and there is no terminal to ask for it",
            hint=f"set {PASSPHRASE_ENV}",
        )
    first = getpass.getpass("New vault passphrase: " if new else "Vault passphrase: ")
    if not first:
        raise InputError("the passphrase is empty")
    if new and getpass.getpass("Again: ") != first:
        raise InputError("the passphrases differ; nothing changed")
    return first


# -- the vault --------------------------------------------------------------------------------


@dataclass
class Entry:
    """A vault entry as listings show it: label and caption, never the value."""

    label: str
    caption: str | None
    kind: str
    memory_id: int | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "label": self.label,
            "caption": self.caption,
            "kind": self.kind,
            "memory_id": self.memory_id,
            "created_at": self.created_at,
        }


class Vault:
    """The encrypted entries of one data home.

    ``transaction`` is the store's write transaction (so entries and memories change together);
    ``passphrase`` overrides how the passphrase is read (tests, the TUI).
    """

    def __init__(
        self,
        store: VaultStore,
        transaction: Callable[[], Any],
        passphrase: Callable[[bool], str] | None = None,
    ) -> None:
        self.store = store
        self._transaction = transaction
        self._passphrase = passphrase or read_passphrase
        self._key: bytes | None = None
        self._key_id: str | None = None
        self._forced: str | None = None

    def use_passphrase(self, passphrase: str) -> None:
        """Open (or set up) this vault with ``passphrase`` instead of the keyring or a prompt."""
        self._passphrase = lambda new: passphrase
        self._forced = PASSPHRASE

    # -- key handling ---------------------------------------------------------------------

    def backend(self) -> str | None:
        """``keyring`` or ``passphrase``; None until the first secret is stored."""
        record = self.store.key_record()
        return record.backend if record else None

    def status(self) -> dict[str, Any]:
        """What ``mem doctor`` reports: where the key is, how many entries, whether it opens."""
        record = self.store.key_record()
        usable, detail = keyring_usable()
        info: dict[str, Any] = {
            "backend": record.backend if record else None,
            "entries": self.store.count(),
            "keyring": detail if usable else None,
            "keyring_error": None if usable else detail,
        }
        if record is None:
            info["would_use"] = self._choose_backend(usable)
        return info

    @staticmethod
    def _choose_backend(keyring_ok: bool) -> str:
        wanted = (os.environ.get(BACKEND_ENV) or "auto").strip().lower()
        if wanted not in ("auto", KEYRING, PASSPHRASE):
            raise InputError(f"{BACKEND_ENV} must be auto, keyring or passphrase, not {wanted!r}")
        if wanted == "auto":
            return KEYRING if keyring_ok else PASSPHRASE
        return wanted

    def _key_record(self, key: bytes, key_id: str, backend: str) -> KeyRecord:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        check = AESGCM(key).encrypt(nonce, _CHECK, f"check:{key_id}".encode())
        record = KeyRecord(backend=backend, key_id=key_id, check_nonce=nonce, check_value=check)
        if backend == PASSPHRASE:
            salt = os.urandom(16)
            kek = _kek(self._passphrase(True), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
            wrap_nonce = os.urandom(12)
            record.salt, record.scrypt_n, record.scrypt_r, record.scrypt_p = (
                salt,
                SCRYPT_N,
                SCRYPT_R,
                SCRYPT_P,
            )
            record.wrap_nonce = wrap_nonce
            record.wrapped_key = AESGCM(kek).encrypt(wrap_nonce, key, f"wrap:{key_id}".encode())
        else:
            _keyring_set(key_id, key)
        return record

    def _create(self) -> None:
        backend = self._forced or self._choose_backend(keyring_usable()[0])
        key, key_id = os.urandom(32), secrets.token_hex(8)
        record = self._key_record(key, key_id, backend)
        self.store.save_key_record(record)
        self._key, self._key_id = key, key_id

    def _unlock(self, record: KeyRecord) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if record.backend == KEYRING:
            key = _keyring_get(record.key_id)
        elif record.backend == PASSPHRASE:
            assert record.salt and record.wrap_nonce and record.wrapped_key
            kek = _kek(
                self._passphrase(False),
                record.salt,
                record.scrypt_n or SCRYPT_N,
                record.scrypt_r or SCRYPT_R,
                record.scrypt_p or SCRYPT_P,
            )
            try:
                key = AESGCM(kek).decrypt(
                    record.wrap_nonce, record.wrapped_key, f"wrap:{record.key_id}".encode()
                )
            except InvalidTag:
                raise WrongPassphraseError(
                    "wrong vault passphrase", hint=f"check {PASSPHRASE_ENV} or type it again"
                ) from None
        else:
            raise VaultError(f"unknown vault key backend {record.backend!r}")
        try:
            if len(key) != 32:
                raise InvalidTag
            AESGCM(key).decrypt(record.check_nonce, record.check_value, f"check:{record.key_id}".encode())
        except InvalidTag:
            raise TamperedError(
                "the vault key does not match this vault",
                hint="the keyring entry or the vault_keys table was changed; restore them from a backup",
            ) from None
        return key

    def key(self, create: bool = False) -> tuple[bytes, str]:
        """The data key and its id (set the vault up first when ``create``)."""
        if self._key is not None and self._key_id is not None:
            return self._key, self._key_id
        record = self.store.key_record()
        if record is None:
            if not create:
                raise VaultLockedError("the vault is empty", hint="add a secret with `mem vault add LABEL`")
            self._create()
        else:
            self._key, self._key_id = self._unlock(record), record.key_id
        assert self._key is not None and self._key_id is not None
        return self._key, self._key_id

    # -- entries ----------------------------------------------------------------------------

    @staticmethod
    def _aad(label: str) -> bytes:
        return f"secondme-vault|{label}".encode()

    @staticmethod
    def _mac(key: bytes, value: str) -> str:
        mac_key = hashlib.sha256(b"secondme-vault-mac|" + key).digest()
        return hmac.new(mac_key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def _seal(self, key: bytes, label: str, value: str) -> tuple[bytes, bytes]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        return nonce, AESGCM(key).encrypt(nonce, value.encode("utf-8"), self._aad(label))

    def _open(self, key: bytes, entry: EntryRecord) -> str:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            return AESGCM(key).decrypt(entry.nonce, entry.ciphertext, self._aad(entry.label)).decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise TamperedError(
                f"the vault entry {entry.label!r} failed its integrity check",
                hint="its ciphertext was changed or moved; restore the database from a backup",
            ) from None

    def add(self, label: str, value: str, caption: str | None = None, kind: str = "manual") -> Entry:
        """Encrypt and store a new entry (the label must be free)."""
        label = check_label(label)
        if not value:
            raise InputError("the secret value is empty")
        with self._transaction():
            if self.store.entry(label) is not None:
                raise InputError(
                    f"the vault already holds {label!r}", hint=f"remove it first with `mem vault rm {label}`"
                )
            key, key_id = self.key(create=True)
            nonce, sealed = self._seal(key, label, value)
            self.store.insert_entry(label, caption, kind, nonce, sealed, self._mac(key, value), key_id)
        audit("vault.add", label=label, kind=kind)
        return self.entry(label)

    def keep(self, value: str, hint: str, kind: str) -> str:
        """Store a detected secret and return its label (a value seen before keeps its label)."""
        with self._transaction():
            key, _ = self.key(create=True)
            known = self.store.entry_by_mac(self._mac(key, value))
            if known is not None:
                return known.label
            base = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:40] or "secret"
            taken = self.store.labels_like(base)
            label, n = base, 1
            while label in taken:
                n += 1
                label = f"{base}-{n}"
            self.add(label, value, kind=kind)
            return label

    def entry(self, label: str) -> Entry:
        """An entry's label and caption, or :class:`NotFoundError`."""
        record = self._record(label)
        return Entry(record.label, record.caption, record.kind, record.memory_id, record.created_at)

    def _record(self, label: str) -> EntryRecord:
        record = self.store.entry(label)
        if record is None:
            raise NotFoundError(f"no vault entry {label!r}", hint="see `mem vault list`")
        return record

    def get(self, label: str, purpose: str = "read") -> str:
        """Decrypt one value (the read is written to the audit log, the value never)."""
        record = self._record(label)
        key, _ = self.key()
        value = self._open(key, record)
        audit("vault.read", label=label, purpose=purpose)
        return value

    def has(self, label: str) -> bool:
        """Whether an entry with this label exists (nothing is decrypted)."""
        return self.store.entry(label) is not None

    def count(self) -> int:
        """How many entries the vault holds."""
        return self.store.count()

    def referencing(self, label: str) -> list[int]:
        """Ids of the memories whose text holds ``[vault:LABEL]``."""
        return self.store.referencing(label)

    def entries(self) -> list[Entry]:
        """Every entry's label and caption."""
        return [Entry(r.label, r.caption, r.kind, r.memory_id, r.created_at) for r in self.store.entries()]

    def remove(self, label: str) -> Entry:
        """Delete an entry."""
        with self._transaction():
            entry = self.entry(label)
            self.store.delete_entry(label)
        audit("vault.remove", label=label)
        return entry

    def rekey(self, backend: str | None = None) -> str:
        """A new data key: every entry re-encrypted, optionally kept by the other backend."""
        with self._transaction():
            record = self.store.key_record()
            if record is None:
                raise VaultLockedError("the vault is empty", hint="nothing to rekey")
            old_key = self._unlock(record)
            target = backend or record.backend
            if target not in (KEYRING, PASSPHRASE):
                raise InputError(f"unknown key backend {target!r}", hint="keyring or passphrase")
            values = {e.label: self._open(old_key, e) for e in self.store.entries()}
            new_key, new_id = os.urandom(32), secrets.token_hex(8)
            # The new key is stored (keyring) before the database switches to it; the old keyring
            # entry goes only after the commit, so a failure at any step leaves a working vault.
            new_record = self._key_record(new_key, new_id, target)
            for label, value in values.items():
                nonce, sealed = self._seal(new_key, label, value)
                self.store.reencrypt(label, nonce, sealed, self._mac(new_key, value), new_id)
            self.store.save_key_record(new_record)
        if record.backend == KEYRING:
            _keyring_delete(record.key_id)
        self._key, self._key_id = new_key, new_id
        audit("vault.rekey", backend=target, entries=len(values))
        return target

    @staticmethod
    def substitute(text: str, values: dict[str, str]) -> str:
        """``text`` with each placeholder whose value is given replaced by it (local display only)."""
        return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def labels_in(text: str) -> list[str]:
    """The vault labels a text refers to, in order."""
    seen: list[str] = []
    for label in PLACEHOLDER_RE.findall(text or ""):
        if label not in seen:
            seen.append(label)
    return seen


def env_passphrase(new: bool = False) -> str:
    """The passphrase from the environment only (for faces that cannot prompt, like the TUI)."""
    value = (os.environ.get(NEW_PASSPHRASE_ENV) if new else None) or os.environ.get(PASSPHRASE_ENV)
    if not value:
        raise VaultLockedError(
            "the vault is locked with a passphrase", hint=f"set {PASSPHRASE_ENV} before starting"
        )
    return value


_SECRET_QUESTION = re.compile(
    r"\b(?:pass(?:word|code|phrase)?s?|pins?|keys?|tokens?|secrets?|codes?|iban|card|combination|login)\b",
    re.IGNORECASE,
)


def related_labels(question: str, answer: str, cited: list[Any], hits: list[Any]) -> list[str]:
    """The vault labels an answer points to: in its text, in the memories it cites, or (for a
    question about a secret) in the best memories retrieved that share a word with the question."""
    labels = labels_in(answer)
    for memory in cited:
        labels += [label for label in labels_in(memory.text) if label not in labels]
    if not labels and _SECRET_QUESTION.search(question):
        words = {w for w in re.findall(r"[a-z0-9]+", question.lower()) if len(w) > 2}
        for hit in hits[:5]:
            text = hit.memory.text
            found = labels_in(text)
            if found and words & set(re.findall(r"[a-z0-9]+", text.lower())):
                labels += [label for label in found if label not in labels]
    return labels
