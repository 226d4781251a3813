"""Finding secrets in text before it is stored, so that they go to the vault instead.

Every write path calls :func:`scrub`: the value of each secret found is handed to a ``keep``
function (the vault), and the text keeps a placeholder ``[vault:LABEL]``.

What is found: cloud keys (AWS key ids and secret keys, Google API keys), GitHub, GitLab, Slack,
Stripe and OpenAI style tokens, private key blocks, JWTs, ``password: ...``, "the password for X is
Y" and PIN sentences, ``api_key = ...`` style assignments, card numbers (Luhn-checked, known issuer
prefixes), IBANs (mod-97 checked) and long high-entropy strings.  The rules are tuned for prose
(notes and chats): code-oriented scanners such as detect-secrets look for assignments in source
code and have no card or IBAN checks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One secret in a text: what kind, the value, where, and a hint for its vault label."""

    kind: str
    value: str
    start: int
    end: int
    hint: str


# Known token formats: (kind, pattern, label hint).  The whole match is the secret unless the
# pattern has a group named "value".
_TOKENS: list[tuple[str, re.Pattern[str], str]] = [
    (
        "private-key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        ),
        "private-key",
    ),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"), "aws-key"),
    (
        "aws-secret-key",
        re.compile(
            r"(?i:aws_?secret(?:_?access)?_?key|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?"
            r"(?P<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        "aws-secret",
    ),
    ("github-token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,255}\b"), "github-token"),
    ("github-token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b"), "github-token"),
    ("gitlab-token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), "gitlab-token"),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "slack-token"),
    (
        "slack-webhook",
        re.compile(r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+"),
        "slack-webhook",
    ),
    ("openai-key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), "openai-key"),
    ("stripe-key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"), "stripe-key"),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), "google-key"),
    (
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"),
        "jwt",
    ),
    (
        "url-credentials",
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:(?P<value>[^\s@/]{3,})@[^\s/]+"),
        "url-password",
    ),
]

# "password: x", "password for github is x", "my wifi password is x", "PIN 4921".
_SECRET_WORDS = (
    r"pass(?:word|wd|code|phrase)|pwd|wi-?fi key|network key|security code|secret key"
    r"|api[ _-]?key|access[ _-]?token|auth[ _-]?token|api[ _-]?token|client[ _-]?secret|recovery code"
    r"|seed phrase|pin(?: code| number)?|pincode|cvv|cvc"
)
_ASSIGN = re.compile(
    rf"(?P<subject>(?:\b[\w.-]+[ ])?)(?P<word>\b(?:{_SECRET_WORDS}))\b"
    r"(?P<context>(?:[ ](?:for|of|to|on|at)(?:[ ](?:my|the|our|his|her))?[ ][\w.@-]+)?)"
    r"(?P<sep>\s*(?:[:=]|\bis\b|\bwas\b|\bis now\b|\bchanged to\b|\bset to\b)\s*)"
    r"(?:(?P<quote>[\"'`])(?P<quoted>[^\"'`\n]{3,80})(?P=quote)|(?P<value>[^\s\"'`]+))",
    re.IGNORECASE,
)
_PIN = re.compile(
    r"\b(?P<word>PIN|pin code|pincode|pin number)\b[\s:#-]*(?P<value>\d{4,8}(?:-\d{2,8})*)\b", re.IGNORECASE
)

# Words that follow "password is" in prose without being a password.
_NOT_VALUES = frozenset(
    """
    a an the my your his her our their this that it its in on at to for of with by from not no yes and
    or but so if is was be been being too very same different wrong right correct incorrect weak strong
    long short simple hard easy expired invalid valid required needed missing saved stored written reset
    changed updated protected encrypted hidden secret private public shared known unknown set sent there
    here what which who how where when why also still now just only really new old good bad fine ok okay
    empty blank case sensitive written down below above attached somewhere something nothing anything
    everything different same taped printed managed remembered lost forgotten generated random temporary
    default mandatory optional complicated complex obvious again ready working broken locked unlocked
    disabled enabled fake real mine yours ours theirs please thanks str string int integer none null
    true false undefined text varchar bytes hash hashed salted example placeholder
    """.split()  # noqa: SIM905
)
_FILLER = frozenset(["my", "the", "our", "his", "her", "their", "a", "an", "your", "this", "that", "its"])


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# Issuer prefixes with their lengths: Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro.
_CARD_BRANDS = re.compile(
    r"^(?:4\d{12}(?:\d{3}){0,2}|5[1-5]\d{14}|2(?:2[2-9]\d|[3-6]\d\d|7[01]\d|720)\d{12}|3[47]\d{13}"
    r"|6(?:011|5\d\d|4[4-9]\d)\d{12,15}|35(?:2[89]|[3-8]\d)\d{12,15}|3(?:0[0-5]|[68]\d)\d{11,16}"
    r"|62\d{14,17}|(?:50|5[6-9]|6\d)\d{10,17})$"
)
_CARD = re.compile(r"(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w-]|\.\d)")


def _card(candidate: str) -> bool:
    digits = re.sub(r"[ -]", "", candidate)
    if len(set(digits)) < 2:
        return False  # 0000 0000 0000 0000 and the like are placeholders, not cards
    # Separators must be regular (4-4-4-4, 4-6-5): a phone number or a list of numbers is not.
    groups = re.split(r"[ -]", candidate)
    if len(groups) > 1 and not (
        all(len(g) == 4 for g in groups[:-1]) or [len(g) for g in groups] in ([4, 6, 5], [4, 6, 4])
    ):
        return False
    return bool(_CARD_BRANDS.match(digits)) and _luhn(digits)


# IBAN lengths per country (the common ones); others are accepted at 15-34 characters.
_IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22,
    "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26,
    "BR": 29, "SA": 24, "AE": 23, "IL": 23, "UA": 29,
}  # fmt: skip
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")


def _iban(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


_TOKEN = re.compile(r"(?<![\w/+=.?&#:\\-])[A-Za-z0-9+/_-]{24,}={0,2}(?![\w/+=-])")
_URL = re.compile(r"\b(?:https?|ftp)://\S+")


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _random_looking(token: str) -> bool:
    """A long token that looks generated: mixed classes, high entropy, no long word runs."""
    if len(token) < 24:
        return False
    has_lower = any(c.islower() for c in token)
    has_upper = any(c.isupper() for c in token)
    has_digit = any(c.isdigit() for c in token)
    if sum((has_lower, has_upper, has_digit)) < 3:
        return False
    # snake_case or kebab-case identifiers, and words glued together, are not secrets.
    if re.search(r"[A-Za-z]{12,}", token) and entropy(token) < 4.5:
        return False
    if re.fullmatch(r"[\w-]*(?:_|-)[a-z]+(?:[_-][a-z]+)+[\w-]*", token):
        return False
    # Names joined by separators ("67P/Churyumov-Gerasimenko", "SECONDME_WATCH_LOG") are words.
    if any(re.fullmatch(r"[A-Z]?[a-z]{4,}|[A-Z]{4,}", part) for part in re.split(r"[/_+-]", token)):
        return False
    return entropy(token) >= 4.2


def placeholder_value(value: str) -> bool:
    """A value that stands for a secret without being one: ``<password>``, ``your_token``, ``****``."""
    low = value.lower()
    return (
        low in _NOT_VALUES
        or value.startswith(("<", "{", "$", "%", "(", "*", "[vault:", "http://", "https://"))
        or any(word in low for word in ("password", "your", "example", "xxx", "changeme", "secret", "token"))
        or len(set(value)) == 1
    )


def _value_ok(value: str, sep: str, word: str) -> bool:
    """Whether what follows "password is" / "password:" looks like a value, not more prose or code."""
    bare = value.strip(".,;:)(")
    if len(bare) < 3 or placeholder_value(bare):
        return False
    # Code, not a value: dotted names (req.body.token) and camelCase identifiers (accessToken).
    if re.fullmatch(r"[A-Za-z_]\w*(?:\.\w+)+", bare) or re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", bare):
        return False
    if sep.strip() in (":", "="):
        return True
    # After "is"/"was", digits, symbols or mixed case make a value; plain words are prose ("is
    # stored", "was designed") unless long, unusual and about a password.
    if re.search(r"[\d\W_]", bare) or (bare != bare.lower() and bare != bare.capitalize()):
        return True
    return (
        bare == bare.lower()
        and len(bare) >= 10
        and word.lower().startswith("pass")
        and not bare.endswith(("ed", "ing", "ly", "tion", "ment", "able"))
    )


def _hint(subject: str, word: str, context: str) -> str:
    word = re.sub(r"[^a-z]+", "-", word.lower()).strip("-")
    word = {"passwd": "password", "pwd": "password", "pincode": "pin", "pin-code": "pin"}.get(word, word)
    target = context.split()[-1] if context.strip() else ""
    if target.lower() in _FILLER:
        target = ""
    if not target:
        words = subject.split()
        target = words[-1] if words and words[-1].lower() not in _FILLER | _NOT_VALUES else ""
    target = re.sub(r"[^a-z0-9]+", "-", target.lower()).strip("-")[:24]
    return f"{target}-{word}" if target else word


def find_secrets(text: str) -> list[Finding]:
    """Every secret found in ``text``, in order, without overlaps."""
    found: list[Finding] = []
    if not text:
        return found

    def add(kind: str, start: int, end: int, hint: str) -> None:
        value = text[start:end]
        if value.strip():
            found.append(Finding(kind, value, start, end, hint))

    for kind, pattern, hint in _TOKENS:
        for match in pattern.finditer(text):
            group = "value" if "value" in pattern.groupindex else 0
            if kind == "url-credentials" and placeholder_value(match.group(group)):
                continue  # postgresql://user:password@localhost is an example, not a secret
            add(kind, match.start(group), match.end(group), hint)
    for match in _PIN.finditer(text):
        add("pin", match.start("value"), match.end("value"), _hint(text[: match.start()][-30:], "pin", ""))
    for match in _ASSIGN.finditer(text):
        group = "quoted" if match.group("quoted") else "value"
        bare = match.group(group) if group == "quoted" else match.group(group).rstrip(".,;:)")
        if group == "value" and not _value_ok(bare, match.group("sep"), match.group("word")):
            continue
        if group == "quoted" and placeholder_value(bare):
            continue
        start = match.start(group)
        kind = "pin" if match.group("word").lower().startswith("pin") else "password"
        if kind == "pin" and not bare.isdigit():
            continue
        hint = _hint(match.group("subject"), match.group("word"), match.group("context"))
        add(kind, start, start + len(bare), hint)
    for match in _CARD.finditer(text):
        if _card(match.group(0)):
            add("card", match.start(), match.end(), "card")
    for match in _IBAN.finditer(text):
        if _iban(match.group(0)):
            add("iban", match.start(), match.end(), "iban")
    urls = [m.span() for m in _URL.finditer(text)]
    for match in _TOKEN.finditer(text):
        # Ids inside links (video ids, tracking parameters) are not secrets; tokens in links are
        # found by their known formats above.
        if any(start <= match.start() < end for start, end in urls):
            continue
        if _random_looking(match.group(0)):
            add("high-entropy", match.start(), match.end(), "secret")
    # Keep the first of overlapping findings (known formats come first, so they win).
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for finding in found:
        if kept and finding.start < kept[-1].end:
            continue
        kept.append(finding)
    return kept


def scrub(text: str, keep: Callable[[Finding], str] | None = None) -> tuple[str, list[Finding]]:
    """``text`` with every secret replaced by ``[vault:LABEL]``, and the findings.

    ``keep`` stores a finding's value and returns its label (the vault does this); without it the
    label hint is used, which is enough to show what would be kept.
    """
    findings = find_secrets(text)
    if not findings:
        return text, []
    parts: list[str] = []
    position = 0
    for finding in findings:
        label = keep(finding) if keep else finding.hint
        parts.append(text[position : finding.start])
        parts.append(f"[vault:{label}]")
        position = finding.end
    parts.append(text[position:])
    return "".join(parts), findings
