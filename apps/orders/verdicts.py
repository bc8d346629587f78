"""Checks that need a library, as pure functions of stored values.

The services store their verdicts in indexed columns at write time (``Order.customer_phone_is_valid``,
``customer_email_is_valid``, ``address_is_valid``, ``line_signature``, ``Shipment.tracking_is_valid``),
so that detection rules filter on a column instead of running Python over every order (SPEC §4).
Nothing here reads the database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from apps.orders.divisions import address_is_valid

__all__ = [
    "address_is_valid",
    "compile_patterns",
    "email_is_valid",
    "line_signature",
    "phone_is_valid",
    "tracking_is_valid",
]

PHONE_REGION = "CN"
PHONE_COUNTRY_CODE = 86
# The form nearly every shop sends: 11 ASCII digits starting with 1.
_PLAIN_MOBILE = re.compile(r"1\d{10}", re.ASCII)
_validate_email = EmailValidator()


# Customers come back, and a bulk batch repeats them: a cache hit is ~0.1 µs against ~20 µs
# for a parse.
@lru_cache(maxsize=8192)
def phone_is_valid(phone: str) -> bool:
    """A number ``phonenumbers`` accepts as valid, read with region CN by default; empty is invalid.

    Letters make it invalid: ``phonenumbers`` would read 138ABCD5678 as a keypad word and skip
    leading junk, but a shop's phone field holds digits.
    """
    phone = phone.strip()
    if _PLAIN_MOBILE.fullmatch(phone):
        # parse() reads these as the national number unchanged (or, after an IP-dialling prefix
        # such as 112xx00, as a number abroad too short to be valid, which no CN number with
        # that prefix is either). Building the number directly costs a quarter of a parse;
        # tests/orders/test_verdicts.py checks that both roads agree.
        number = phonenumbers.PhoneNumber(country_code=PHONE_COUNTRY_CODE, national_number=int(phone))
        return phonenumbers.is_valid_number(number)
    if not phone or any(char.isalpha() for char in phone):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(phone, PHONE_REGION))
    except phonenumbers.NumberParseException:
        return False


@lru_cache(maxsize=8192)
def email_is_valid(email: str) -> bool:
    """Django's e-mail check; an empty e-mail is valid (the rule flags only a malformed one)."""
    if not email:
        return True
    try:
        _validate_email(email)
    except ValidationError:
        return False
    return True


def line_signature(lines: Iterable[tuple[str, int]]) -> str:
    """SHA-1 hex of the sorted (SKU, total quantity) pairs of an order's lines.

    The same SKUs in the same quantities give the same signature whatever the order of the
    lines or how a SKU is split over several lines. Each SKU is prefixed with its length, so
    no SKU text can make two different baskets sign alike.
    """
    totals: dict[str, int] = {}
    for sku, quantity in lines:
        totals[sku] = totals.get(sku, 0) + quantity
    text = "\n".join([f"{len(sku)}:{sku}:{quantity}" for sku, quantity in sorted(totals.items())])
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


@lru_cache(maxsize=256)
def compile_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Compile a carrier's patterns; ASCII so that ``\\d`` means 0-9 only, not every script's digits.

    Raises ``re.error`` for a pattern that does not compile.
    """
    return tuple(re.compile(pattern, re.ASCII) for pattern in patterns)


def tracking_is_valid(tracking_number: str, patterns: Sequence[re.Pattern[str]] | None) -> bool:
    """The number fully matches one of its carrier's patterns.

    ``patterns`` is None for an unknown or inactive carrier, whose numbers are all invalid.
    """
    return bool(patterns) and any(pattern.fullmatch(tracking_number) for pattern in patterns)


# The shipped signature of an order with nothing shipped yet.
NOTHING_SHIPPED = line_signature(())
