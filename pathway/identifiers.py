"""French health identifiers, checked by their keys before anything stores or prints them.

- FINESS (an establishment): 9 digits, the last a Luhn check digit.
- INS (a patient's matricule, Identifiant National de Santé): 15 characters, the NIR form
  (13 characters, the department at positions 6–7 possibly 2A or 2B for Corsica) followed
  by a 2-digit key, 97 − (the 13 characters read as a number mod 97), 2A counted as 19 and
  2B as 18. Its OID says which number it is: a NIR, or a NIA (a number awaiting a NIR),
  which has the same form and key.
- RPPS (a health professional): 11 digits.

Functions take what a person typed (spaces and dots allowed between the characters) and
give the normalised value, or None when it is not a valid identifier.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

INS_OID_NIR = "1.2.250.1.213.1.4.8"
INS_OID_NIA = "1.2.250.1.213.1.4.10"
INS_OIDS = (INS_OID_NIR, INS_OID_NIA)

_SEPARATORS = re.compile(r"[\s.\-]+")
_NIR = re.compile(r"[1-8]\d{4}(\d{2}|2A|2B)\d{6}\d{2}")


def compact(text: str) -> str:
    """What a person typed, without the spaces, dots and dashes they group digits with."""
    return _SEPARATORS.sub("", text).upper()


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits ends with its Luhn check digit."""
    if not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def finess(text: str) -> str | None:
    """The FINESS number typed, normalised (9 digits), if its Luhn key is right."""
    value = compact(text)
    if len(value) == 9 and luhn_valid(value):
        return value
    return None


def rpps(text: str) -> str | None:
    """The RPPS number typed, normalised (11 digits), if it has the form of one."""
    value = compact(text)
    if len(value) == 11 and value.isdigit() and value.isascii():
        return value
    return None


def ins_key(first13: str) -> int:
    """The key of a NIR's first 13 characters: 97 − (number mod 97), Corsica counted."""
    number = int(first13.replace("2A", "19", 1).replace("2B", "18", 1))
    return 97 - number % 97


@dataclass(frozen=True)
class InsProblem:
    """Why an INS was refused: `reason` is one of key, form, sex, birth_year, birth_month."""

    reason: str


def check_ins(
    text: str, *, sex: str | None = None, birth_date: dt.date | None = None
) -> str | InsProblem:
    """The INS typed, normalised (15 characters), or why it is refused.

    Beyond the form and the key, the number must agree with what the record says of the
    person: the first digit is odd for a man and even for a woman, positions 2–3 are the
    last two digits of the birth year and positions 4–5 the birth month when it is a
    month (01–12; other values are used when the month was unknown)."""
    value = compact(text)
    if len(value) != 15 or not value.isascii() or _NIR.fullmatch(value) is None:
        return InsProblem("form")
    # The department's 2A/2B is at positions 6–7 only; anywhere else the regex refused it.
    if ins_key(value[:13]) != int(value[13:]):
        return InsProblem("key")
    if sex is not None and (int(value[0]) % 2 == 1) != (sex == "M"):
        return InsProblem("sex")
    if birth_date is not None:
        if int(value[1:3]) != birth_date.year % 100:
            return InsProblem("birth_year")
        month = int(value[3:5])
        if 1 <= month <= 12 and month != birth_date.month:
            return InsProblem("birth_month")
    return value


def ins_valid(text: str) -> bool:
    """Whether the text is an INS of the right form with the right key (nothing else checked)."""
    return isinstance(check_ins(text), str)


def format_ins(value: str) -> str:
    """An INS as printed: 2 88 04 49 007 123 45 (sex, year, month, place, order, key)."""
    return " ".join(
        (value[0], value[1:3], value[3:5], value[5:7], value[7:10], value[10:13], value[13:])
    )
