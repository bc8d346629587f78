"""The verdict functions behind the materialized check columns: phones, e-mails, line
signatures and tracking numbers against the carrier formats of SPEC §3 (seeded by migration)."""

from __future__ import annotations

import random
import re
import string

import phonenumbers
import pytest

from apps.orders import selectors, verdicts
from apps.orders.models import Carrier

# --- Phones -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "13800138000",
        "+86 138 0013 8000",
        "8613800138000",
        " 13800138000 ",
        "0571-88888888",
        "010 6512 3456",
        "(021)62345678",
    ],
    ids=["mobile", "international", "country-code", "padded", "hangzhou-landline", "beijing-landline", "brackets"],
)
def test_a_chinese_mobile_or_a_landline_with_its_area_code_is_a_valid_phone(phone):
    """Mobiles and landlines with an area code are valid, in the spellings shops send."""
    assert verdicts.phone_is_valid(phone) is True


@pytest.mark.parametrize(
    "phone",
    ["", "   ", "1380013800", "138001380001", "12800138000", "138****8000", "138ABCD8000", "a13800138000", "88888888"],
    ids=[
        "empty",
        "blank",
        "too-short",
        "too-long",
        "no-such-prefix",
        "masked",
        "letters",
        "leading-letter",
        "landline-without-area-code",
    ],
)
def test_an_empty_short_masked_or_lettered_phone_is_invalid(phone):
    """Empty, wrong-length, masked, unknown-prefix and lettered numbers are invalid."""
    assert verdicts.phone_is_valid(phone) is False


def test_the_shortcut_for_plain_mobile_numbers_agrees_with_a_full_parse():
    """Every 11-digit number from 1: the same verdict as ``phonenumbers.parse`` with region CN gives."""
    rng = random.Random(20261126)
    numbers = [f"1{prefix:05d}" + "".join(rng.choices(string.digits, k=5)) for prefix in range(0, 100000, 7)]
    for number in numbers:
        try:
            expected = phonenumbers.is_valid_number(phonenumbers.parse(number, "CN"))
        except phonenumbers.NumberParseException:
            expected = False  # 112 04 00 …: read as a call abroad (IP-dialling prefix + 00), too short
        assert verdicts.phone_is_valid(number) is expected, number
    assert 0.05 < sum(map(verdicts.phone_is_valid, numbers)) / len(numbers) < 0.95


# --- E-mail -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["", "zs@example.com", "12345678@qq.com", "wang.li+shop@163.com"])
def test_an_empty_or_well_formed_email_is_valid(email):
    """No e-mail is fine (the rule only flags a given, malformed one)."""
    assert verdicts.email_is_valid(email) is True


@pytest.mark.parametrize("email", ["zs@", "zs.163.com", "zs@@163.com", "zs@qq。com", "@qq.com", "zs @qq.com"])
def test_a_malformed_email_is_invalid(email):
    """Missing or doubled @, a full-width dot, an empty local part, a space: invalid."""
    assert verdicts.email_is_valid(email) is False


# --- Line signatures --------------------------------------------------------------------------------


def test_the_line_signature_is_a_sha1_hex_digest():
    """Forty lower-case hex characters: it fits the indexed char(40) column."""
    assert re.fullmatch(r"[0-9a-f]{40}", verdicts.line_signature([("SKU-1", 2)]))


def test_the_same_skus_and_quantities_in_any_line_order_give_the_same_signature():
    """Reordered lines are the same basket."""
    assert verdicts.line_signature([("A", 1), ("B", 3)]) == verdicts.line_signature([("B", 3), ("A", 1)])


def test_a_sku_split_over_several_lines_signs_like_one_line_with_the_total_quantity():
    """Quantities are summed per SKU before signing."""
    assert verdicts.line_signature([("A", 1), ("B", 1), ("A", 2)]) == verdicts.line_signature([("B", 1), ("A", 3)])


@pytest.mark.parametrize(
    "other",
    [[("A", 2), ("B", 4)], [("A", 2), ("C", 3)], [("A", 2)], [("A", 2), ("B", 3), ("C", 1)]],
    ids=["other-quantity", "other-sku", "fewer-skus", "more-skus"],
)
def test_another_quantity_or_another_sku_gives_another_signature(other):
    """Only the same SKUs in the same total quantities share a signature."""
    assert verdicts.line_signature([("A", 2), ("B", 3)]) != verdicts.line_signature(other)


def test_sku_text_cannot_make_two_baskets_look_alike():
    """Separators inside a SKU do not blur the pairs: the signing encodes each pair apart."""
    assert verdicts.line_signature([("A:1,B", 2)]) != verdicts.line_signature([("A", 1), ("B", 2)])


# --- Tracking numbers -------------------------------------------------------------------------------

VALID_NUMBERS = [
    ("SF", "SF" + "1" * 12),
    ("SF", "SF" + "1" * 13),
    ("JD", "JDVA12345678901"),
    ("JD", "JD" + "A1" * 8),
    ("YTO", "YT" + "2" * 13),
    ("YTO", "YT" + "2" * 15),
    ("ZTO", "7" * 12),
    ("ZTO", "7" * 15),
    ("STO", "8" * 12),
    ("STO", "8" * 15),
    ("YUNDA", "4" * 13),
    ("YUNDA", "4" * 15),
    ("EMS", "EA123456789CN"),
    ("EMS", "1" * 13),
]
INVALID_NUMBERS = [
    ("SF", "SF" + "1" * 11),
    ("SF", "SF" + "1" * 14),
    ("SF", "sf" + "1" * 12),
    ("SF", "SF" + "１" * 12),  # full-width digits are not 0-9
    ("SF", "SF" + "1" * 12 + "\n"),
    ("SF", ""),
    ("JD", "JD" + "A" * 12),
    ("JD", "JD" + "A" * 17),
    ("JD", "JDva12345678901"),
    ("YTO", "YT" + "2" * 12),
    ("YTO", "YT" + "2" * 16),
    ("YTO", "73" + "2" * 12),
    ("ZTO", "7" * 11),
    ("ZTO", "7" * 16),
    ("ZTO", "ZT" + "7" * 12),
    ("STO", "8" * 11),
    ("STO", "8" * 18),
    ("YUNDA", "4" * 12),
    ("YUNDA", "4" * 16),
    ("EMS", "EA12345678CN"),
    ("EMS", "EA1234567890CN"),
    ("EMS", "ea123456789CN"),
    ("EMS", "1" * 12),
    ("EMS", "1" * 14),
]


def _judge(carrier: str, number: str) -> bool:
    return verdicts.tracking_is_valid(number, selectors.carrier_patterns().get(carrier))


@pytest.mark.django_db
@pytest.mark.parametrize(("carrier", "number"), VALID_NUMBERS)
def test_a_number_of_its_carriers_format_and_length_is_valid(carrier, number):
    """Each carrier's shortest and longest accepted numbers pass (SPEC §3 table)."""
    assert _judge(carrier, number) is True


@pytest.mark.django_db
@pytest.mark.parametrize(("carrier", "number"), INVALID_NUMBERS)
def test_a_number_one_off_in_length_or_form_is_invalid(carrier, number):
    """One digit short or long, wrong prefix or case, other scripts' digits, a trailing newline: invalid."""
    assert _judge(carrier, number) is False


@pytest.mark.django_db
def test_a_number_of_an_unknown_carrier_is_invalid():
    """A carrier without a format record fits no format, whatever the number."""
    assert _judge("JTSD", "JT" + "1" * 13) is False
    assert _judge("", "1" * 13) is False


@pytest.mark.django_db
def test_an_inactive_carriers_numbers_are_invalid():
    """Deactivating a carrier makes its numbers invalid, like an unknown carrier's."""
    Carrier.objects.filter(code="SF").update(is_active=False)
    assert _judge("SF", "SF" + "1" * 12) is False


@pytest.mark.django_db
def test_the_migration_seeds_exactly_the_specs_carrier_table():
    """Seven carriers with the SPEC §3 patterns, all active."""
    assert list(Carrier.objects.order_by("code").values_list("code", "patterns", "is_active")) == [
        ("EMS", [r"^[A-Z]{2}\d{9}CN$", r"^\d{13}$"], True),
        ("JD", [r"^JD[A-Z0-9]{13,16}$"], True),
        ("SF", [r"^SF\d{12,13}$"], True),
        ("STO", [r"^\d{12,15}$"], True),
        ("YTO", [r"^YT\d{13,15}$"], True),
        ("YUNDA", [r"^\d{13,15}$"], True),
        ("ZTO", [r"^\d{12,15}$"], True),
    ]
    assert Carrier.objects.get(code="SF").name == "顺丰速运"


@pytest.mark.django_db
def test_a_stored_pattern_that_does_not_compile_makes_the_carriers_numbers_invalid_not_an_error():
    """A row edited around the admin's checks degrades to "no valid numbers" instead of failing writes."""
    Carrier.objects.filter(code="SF").update(patterns=["^SF(\\d{12}$"])
    assert _judge("SF", "SF" + "1" * 12) is False
    assert _judge("JD", "JDVA12345678901") is True
