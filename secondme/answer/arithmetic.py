"""Sums in answers, done again in code.

A small model reads the numbers out of the memories well and adds them badly: asked for the
views of two videos it wrote "542 + 1,456 = 2,008".  The prompt asks it to write a total or a
difference out as a calculation, and :func:`correct_arithmetic` recomputes every calculation of
that form and puts the right result in place of the model's.  The numbers the model took from
the memories, and its choice of operation, are left as they are: only the arithmetic is checked.

A calculation is numbers joined by ``+``, ``-``, ``−`` or ``×`` (``x`` and ``*`` too), then ``=``
and a result.  Each number may carry a currency sign, thousands separators, a decimal part, and
a few words, a bracketed aside or citations after it ("542 views (YouTube) [564] + ...").
Anything else is left alone: a list of numbers without operators, a date, a time of day.
"""

from __future__ import annotations

import re
from decimal import Decimal

_NUMBER = r"[$€£]?(?<![\w.,:/])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d:/]|[.,]\d)%?"
# What may follow a number before the operator: up to five words, an aside in brackets, and
# citations ("1,456 views (TikTok) [410]").
_TAIL = r"(?:\s*(?:\[\d+\]|\([^()\n]{0,40}\)|[A-Za-z][A-Za-z'-]*)){0,5}"
_OPERATOR = r"\s+(?:[+\-−×x*])\s+|\s*[+×*]\s*"
_CALCULATION = re.compile(
    rf"(?P<terms>{_NUMBER}{_TAIL}(?:(?:{_OPERATOR}){_NUMBER}{_TAIL})+)\s*=\s*(?P<result>{_NUMBER})"
)
_ASIDE = re.compile(r"\[\d+\]|\([^()\n]*\)")
_TERM = re.compile(rf"(?P<operator>{_OPERATOR})?(?P<number>{_NUMBER})")


def _value(number: str) -> Decimal:
    # ``_NUMBER`` matched it: digits, separators and a decimal part only.
    return Decimal(number.strip("$€£%").replace(",", ""))


def _evaluate(terms: str) -> tuple[Decimal, int, bool] | None:
    """The value of ``a op b op c ...`` (× before + and -), its decimal places, and whether a
    term was written with thousands separators; None when ``terms`` is not one calculation."""
    # Citations and asides go first: a date in brackets is not a term.
    bare = _ASIDE.sub(" ", terms)
    sums: list[Decimal] = []
    places = 0
    separators = False
    terms_seen = 0
    for match in _TERM.finditer(bare):
        number, operator = match.group("number"), (match.group("operator") or "").strip()
        value = _value(number)
        if bool(sums) != bool(operator):
            # Two numbers with no operator between them: a list, not a calculation.
            return None
        terms_seen += 1
        separators = separators or "," in number
        exponent = value.as_tuple().exponent
        places = max(places, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
        if not sums:
            sums.append(value)
        elif operator in ("×", "x", "*"):
            sums[-1] *= value
        else:
            sums.append(value if operator == "+" else -value)
    if terms_seen < 2:
        return None  # fewer than two numbers outside the asides: no calculation
    return sum(sums, Decimal(0)), places, separators


def _format(value: Decimal, places: int, separators: bool, like: str) -> str:
    text = f"{value:,.{places}f}" if separators or "," in like else f"{value:.{places}f}"
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    prefix = like[0] if like[:1] in ("$", "€", "£") else ""
    suffix = "%" if like.endswith("%") else ""
    return f"{sign}{prefix}{text}{suffix}"


def correct_arithmetic(text: str) -> str:
    """``text`` with the result of every calculation in it recomputed (see the module doc)."""

    def fix(match: re.Match[str]) -> str:
        whole, evaluated = match.group(0), _evaluate(match.group("terms"))
        if evaluated is None or evaluated[0] == _value(match.group("result")):
            return whole
        result = _format(*evaluated, like=match.group("result"))
        start, end = (match.start("result") - match.start(), match.end("result") - match.start())
        return whole[:start] + result + whole[end:]

    return _CALCULATION.sub(fix, text)
