"""Errors meant for people: a message, a hint, and an exit code.

Core code raises these; only the CLI turns them into one line on stderr.
"""

from __future__ import annotations

# Exit codes, in one place (docs/errors.md states the rule every command follows).
EXIT_OK = 0
EXIT_ERROR = 1  # nothing was done: every item failed, or an unexpected error
EXIT_USAGE = 2  # bad input: arguments, options, stdin, a file's content
EXIT_NOT_FOUND = 3
EXIT_MODEL = 4
EXIT_STORE = 5
EXIT_PARTIAL = 6  # some of the work was done, some was not; each failure was reported
EXIT_VAULT = 7  # the vault's key is out of reach, a passphrase is wrong, a ciphertext was tampered with
EXIT_INTERRUPTED = 130

#: Every code a ``mem`` command may exit with.
EXIT_CODES = frozenset(
    {
        EXIT_OK,
        EXIT_ERROR,
        EXIT_USAGE,
        EXIT_NOT_FOUND,
        EXIT_MODEL,
        EXIT_STORE,
        EXIT_PARTIAL,
        EXIT_VAULT,
        EXIT_INTERRUPTED,
    }
)


class SecondmeError(Exception):
    """An error with a message for the user and an optional hint on what to do."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class InputError(SecondmeError):
    """Bad input from the user: empty text, an unknown type, an unparseable date."""

    exit_code = EXIT_USAGE


class NotFoundError(SecondmeError):
    """A memory id or another named thing does not exist."""

    exit_code = EXIT_NOT_FOUND


class ModelError(SecondmeError):
    """A model file is missing, corrupt, or cannot be loaded."""

    exit_code = EXIT_MODEL


class StoreError(SecondmeError):
    """The database or the vector index cannot be used."""

    exit_code = EXIT_STORE


class PartialError(SecondmeError):
    """Some of the work was done and some was not; the output already listed each failure."""

    exit_code = EXIT_PARTIAL


class VaultError(SecondmeError):
    """The vault cannot be opened or an entry cannot be read."""

    exit_code = EXIT_VAULT


class VaultLockedError(VaultError):
    """The vault's key is out of reach: no keyring, a locked keyring, or no passphrase given."""


class WrongPassphraseError(VaultError):
    """The passphrase does not open the vault's key."""


class TamperedError(VaultError):
    """A ciphertext or the wrapped key failed its authentication check."""
