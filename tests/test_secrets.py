"""The secret detector: what it finds, what it leaves alone, and its false positives on samples."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from secondme.secrets import find_secrets, scrub

REPO = Path(__file__).resolve().parents[1]

FOUND = [
    ("My bank PIN is 4921", "pin", "4921"),
    ("PIN: 0007", "pin", "0007"),
    ("pin code 1234 for the front door", "pin", "1234"),
    ("my password for github is Tr0ub4dor&3", "password", "Tr0ub4dor&3"),
    ("my password for gmail is Hunter2xyz", "password", "Hunter2xyz"),
    ("wifi password: correcthorse", "password", "correcthorse"),
    ("the wifi password is 'blue meadow 42'", "password", "blue meadow 42"),
    ("my passphrase is correcthorsebattery", "password", "correcthorsebattery"),
    ("AWS key AKIAIOSFODNN7EXAMPLE", "aws-access-key", "AKIAIOSFODNN7EXAMPLE"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws-secret-key",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ("token ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "github-token", None),
    ("deploy with glpat-" + "xY12zW34vU56tS78rQ90", "gitlab-token", None),
    ("slack bot xoxb-" + "123456789012-abcdefGHIJKL", "slack-token", None),
    ("OPENAI_API_KEY=sk-proj-" + "Ab12Cd34Ef56Gh78Ij90Kl12Mn34", "openai-key", None),
    (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "jwt",
        None,
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
        "private-key",
        None,
    ),
    ("card 4111 1111 1111 1111 exp 09/27", "card", "4111 1111 1111 1111"),
    ("amex 3782-822463-10005", "card", "3782-822463-10005"),
    ("pay to IBAN DE89 3704 0044 0532 0130 00 please", "iban", "DE89 3704 0044 0532 0130 00"),
    ("GB82WEST12345698765432", "iban", "GB82WEST12345698765432"),
    ("db is postgres://bob:s3cretpw@db.example.com/app", "url-credentials", "s3cretpw"),
    ("backup key Zx9kQ2mV8pL4nR7tW1yB3cD6fG0hJ5sA", "high-entropy", "Zx9kQ2mV8pL4nR7tW1yB3cD6fG0hJ5sA"),
]

NOT_FOUND = [
    "The password is stored in 1Password",
    "I forgot my password again",
    "remember to change my password",
    "my password was reset yesterday",
    "call me at 555 123 4567",
    "my phone number is 4155552671",
    "Order 1700000000000 shipped",
    "card 4111 1111 1111 1112 (fails the Luhn check)",
    "IBAN DE89 3704 0044 0532 0130 01 (bad checksum)",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "https://www.youtube.com/watch?v=QzQgPvSn_Pk&list=PLPV2KyIb3jR4u5jX8za5iU1cqnQPmbzG0",
    "The comet 67P/Churyumov-Gerasimenko was visited by Rosetta",
    "database_url = postgresql://user:password@localhost/mydatabase",
    "password: '<your password>'",
    "accessToken: req.body.accessToken,",
    "The token is designed to align incentives",
    "Meeting at 10:30 about the API key rotation",
    "Environment=SECONDME_WATCH_LOG=1",
]


@pytest.mark.parametrize(("text", "kind", "value"), FOUND)
def test_known_secrets_are_found(text, kind, value):
    found = find_secrets(text)
    assert [f.kind for f in found] == [kind]
    if value is not None:
        assert found[0].value == value
    clean, _ = scrub(text)
    assert "[vault:" in clean
    assert (value or found[0].value) not in clean


@pytest.mark.parametrize("text", NOT_FOUND)
def test_ordinary_text_is_left_alone(text):
    assert find_secrets(text) == []
    assert scrub(text) == (text, [])


def test_scrub_names_each_secret_by_its_context_and_keeps_the_sentence():
    text = "wifi password is sunflower77 and my bank PIN is 4921."
    labels = iter(["home-wifi", "bank"])
    clean, found = scrub(text, lambda finding: next(labels))
    assert clean == "wifi password is [vault:home-wifi] and my bank PIN is [vault:bank]."
    assert [f.hint for f in found] == ["wifi-password", "bank-pin"]


def test_false_positives_on_the_samples_are_near_zero():
    """Chats, notes and example memories hold no secrets: the detector must stay quiet on them."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import secrets_fp
    finally:
        sys.path.remove(str(REPO / "bench"))
    for name in ("chat samples", "notes (repository Markdown)", "example memories"):
        texts, flagged = 0, 0
        for _, text in secrets_fp.CORPORA[name]():
            texts += 1
            flagged += bool(find_secrets(text))
        assert texts > 10, name
        assert flagged == 0, name
