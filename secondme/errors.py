"""Errors meant for people: a message, a hint, and an exit code.

Core code raises these; only the CLI turns them into one line on stderr.
"""

from __future__ import annotations

# Exit codes, in one place.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_MODEL = 4
EXIT_STORE = 5
EXIT_VAULT = 6


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


class VaultError(SecondmeError):
    """The vault cannot be opened or an entry cannot be read."""

    exit_code = EXIT_VAULT


class VaultLockedError(VaultError):
    """The vault's key is out of reach: no keyring, a locked keyring, or no passphrase given."""


class WrongPassphraseError(VaultError):
    """The passphrase does not open the vault's key."""


class TamperedError(VaultError):
    """A ciphertext or the wrapped key failed its authentication check."""
