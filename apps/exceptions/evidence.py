"""An exception's evidence and audit trail in words, in the active language.

Detection stores what made a rule hold as plain JSON in ``OrderException.details`` (the schema
per rule is in ``apps/rules/details.py``); everything a person reads about it is rendered here
at read time, so the same exception reads in Chinese or in English as the request asks:

- ``exception_evidence(exception)``: the facts as labelled values (the console's evidence list);
- ``exception_summary_text(exception)`` and ``summary_text(...)``: one line for lists and the API;
- ``event_text(event)``: one sentence per audit-trail event.

Money reads ``¥1,234.50``, times in local time, durations in hours and minutes; never raw JSON.
Details of an unknown shape (older rows, other detectors) fall back to their scalar facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import Department
from apps.common.i18n import localized
from apps.exceptions.models import ExceptionEvent, OrderException, PauseReason, RootCause
from apps.orders.models import Channel, Order, Payment
from apps.rules import selectors as rule_selectors
from apps.rules.models import ExceptionRule, Severity

SUMMARY_PHRASES = 2
_FALLBACK_FACTS = 4
_CURRENCY_SYMBOLS = {"CNY": "¥", "RMB": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$", "JPY": "JP¥"}


@dataclass(frozen=True)
class EvidenceItem:
    """One fact behind an exception: a label and a value for people, and optionally what to link to."""

    label: str
    value: str
    order_id: int | None = None
    url: str | None = None


@dataclass(frozen=True)
class _Rendered:
    items: list[EvidenceItem]
    phrases: list[str]


# --- Formatting ---------------------------------------------------------------------------------


def money_text(amount: Any, currency: str | None = "CNY") -> str:
    """``Decimal("1234.5")`` → ``¥1,234.50``; another currency without a symbol reads ``XYZ 1,234.50``."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    code = (currency or "CNY").upper()
    digits = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    symbol = _CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{code} {digits}"


def time_text(value: Any) -> str:
    """An ISO 8601 time (or a datetime) in local time, ``2026-11-20 18:00``."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(moment, datetime):
        return str(value)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.strftime("%Y-%m-%d %H:%M")


def duration_text(minutes: int) -> str:
    """``90`` → "1 h 30 min" / "1 小时 30 分钟"; days from 48 hours on."""
    minutes = max(int(minutes), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days >= 2:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    hours += days * 24
    if hours and not minutes:
        return _("%(hours)d h") % {"hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def _seconds_text(seconds: int) -> str:
    if seconds < 60:
        return _("%(seconds)d s") % {"seconds": max(seconds, 0)}
    return duration_text(seconds // 60)


def _percent(ratio: Any) -> str:
    try:
        value = Decimal(str(ratio)) * 100
    except (InvalidOperation, ValueError):
        return str(ratio)
    text = f"{value.quantize(Decimal('0.1')):f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _count(value: Any) -> str:
    """A whole number with thousands separators (``12,000``); anything else as it is."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _yes_no(value: Any) -> str:
    return _("Yes") if value else _("No")


def _label(text: Any) -> str:
    return capfirst(str(text))


def _order_url(order_id: int) -> str | None:
    try:
        return reverse("admin:orders_order_change", args=[order_id])
    except NoReverseMatch:
        return None


def _status_label(status: Any, choices: type = Order.Status) -> str:
    try:
        return str(choices(status).label)
    except ValueError:
        return str(status)


# --- Built-in rules -----------------------------------------------------------------------------
#
# Each renderer takes the details, the exception (or its key) and whether the items are wanted:
# a summary needs only the phrases, and lists render thousands of summaries.


def _stock(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    items, phrases = [], []
    for line in details.get("lines", []):
        facts = {key: _count(line.get(key)) for key in ("sku", "quantity", "on_hand", "reserved", "available", "short")}
        phrases.append(_("%(sku)s short by %(short)s (ordered %(quantity)s, available %(available)s)") % facts)
        if want:
            value = (
                _(
                    "ordered %(quantity)s, on hand %(on_hand)s, reserved %(reserved)s, available %(available)s: "
                    "short by %(short)s"
                )
                % facts
            )
            items.append(EvidenceItem(label=str(line.get("sku")), value=value))
    return _Rendered(items, phrases)


def _tracking_phrase(shipment: Mapping[str, Any]) -> str:
    facts = {"number": shipment.get("tracking_number") or "", "carrier": shipment.get("carrier") or ""}
    if not facts["number"]:
        return _("no tracking number (carrier %(carrier)s)") % facts
    if not shipment.get("carrier_known"):
        return _("tracking number %(number)s: unknown or inactive carrier %(carrier)s") % facts
    return _("tracking number %(number)s does not fit the format of carrier %(carrier)s") % facts


def _tracking(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    items, phrases = [], []
    for shipment in details.get("shipments", []):
        phrase = _tracking_phrase(shipment)
        phrases.append(phrase)
        if want:
            label = _("Shipment #%(id)s") % {"id": shipment.get("shipment_id")}
            items.append(EvidenceItem(label=label, value=capfirst(phrase)))
    return _Rendered(items, phrases)


def _paid(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    currency = details.get("currency")
    paid, total = money_text(details["paid_total"], currency), money_text(details["total_amount"], currency)
    missing = money_text(details["missing_amount"], currency)
    phrase = _("paid %(paid)s of %(total)s, %(missing)s missing") % {"paid": paid, "total": total, "missing": missing}
    if not want:
        return _Rendered([], [phrase])
    items = [
        EvidenceItem(_label(_("status")), _status_label(details.get("status"))),
        EvidenceItem(_label(_("total amount")), total),
        EvidenceItem(_label(_("paid total (succeeded payments)")), paid),
        EvidenceItem(_label(_("missing")), missing),
    ]
    return _Rendered(items, [phrase])


def _amount(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    currency = details.get("currency")
    facts = {
        key: money_text(details[key], currency)
        for key in ("total_amount", "lines_total", "shipping_fee", "discount", "expected_amount", "difference")
    }
    phrase = (
        _(
            "total %(total_amount)s, expected %(expected_amount)s "
            "(lines %(lines_total)s + shipping %(shipping_fee)s − discount %(discount)s)"
        )
        % facts
    )
    if not want:
        return _Rendered([], [phrase])
    items = [
        EvidenceItem(_label(_("total amount")), facts["total_amount"]),
        EvidenceItem(_label(_("lines total")), facts["lines_total"]),
        EvidenceItem(_label(_("shipping fee")), facts["shipping_fee"]),
        EvidenceItem(_label(_("discount")), facts["discount"]),
        EvidenceItem(_label(_("expected total (lines + shipping fee − discount)")), facts["expected_amount"]),
        EvidenceItem(_label(_("difference")), facts["difference"]),
    ]
    return _Rendered(items, [phrase])


def _duplicate(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    order_id = details["duplicate_of"]
    gap = _seconds_text(int(details.get("gap_seconds", 0)))
    external_id = details.get("duplicate_of_external_id", "")
    phrase = _("same as order %(external_id)s, placed %(gap)s earlier") % {"external_id": external_id, "gap": gap}
    if not want:
        return _Rendered([], [phrase])
    items = [
        EvidenceItem(_label(_("earlier order")), str(external_id), order_id=order_id, url=_order_url(order_id)),
        EvidenceItem(_label(_("earlier order placed at")), time_text(details.get("duplicate_of_placed_at"))),
        EvidenceItem(_label(_("placed after it")), gap),
    ]
    return _Rendered(items, [phrase])


def _price(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    currency = details.get("currency")
    bounds = {"low": _percent(details.get("min_ratio", "0.5")), "high": _percent(details.get("max_ratio", "1.5"))}
    items, phrases = [], []
    for line in details.get("lines", []):
        facts = {
            "sku": line.get("sku"),
            "price": money_text(line.get("unit_price"), currency),
            "list_price": money_text(line.get("list_price"), currency),
            "percent": _percent(line.get("ratio")),
            **bounds,
        }
        phrases.append(_("%(sku)s at %(price)s is %(percent)s of its list price %(list_price)s") % facts)
        if want:
            value = _("unit price %(price)s, list price %(list_price)s: %(percent)s (allowed %(low)s–%(high)s)") % facts
            items.append(EvidenceItem(label=str(line.get("sku")), value=value))
    return _Rendered(items, phrases)


def _items(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    items, phrases = [], []
    for row in details.get("skus", []):
        ordered = row.get("ordered", 0)
        facts = {"sku": row.get("sku"), "ordered": _count(ordered), "shipped": _count(row.get("shipped", 0))}
        if not ordered:
            phrases.append(_("%(sku)s shipped %(shipped)s but not ordered") % facts)
            if want:
                items.append(EvidenceItem(str(facts["sku"]), _("shipped %(shipped)s, not on the order") % facts))
        else:
            phrases.append(_("%(sku)s ordered %(ordered)s, shipped %(shipped)s") % facts)
            if want:
                items.append(EvidenceItem(str(facts["sku"]), _("ordered %(ordered)s, shipped %(shipped)s") % facts))
    return _Rendered(items, phrases)


def _reference_label(reference: str) -> str:
    labels = {
        "placed_at": _("placed at"),
        "promised_ship_by": _("promised ship-by"),
        "last_tracking_event": _("last tracking event (or shipping) time"),
        "paid_at": _("paid at"),
        "status_changed_at": _("status changed at"),
    }
    return _label(labels.get(reference, reference))


def _late_facts(details: Mapping[str, Any]) -> dict[str, str]:
    return {
        "reference": time_text(details.get("reference_at")),
        "due": time_text(details.get("due_at")),
        "allowed": duration_text(details.get("allowed_minutes", 0)),
        "late": duration_text(details.get("late_minutes", 0)),
    }


def _late_items(details: Mapping[str, Any], facts: Mapping[str, str]) -> list[EvidenceItem]:
    return [
        EvidenceItem(_reference_label(details.get("reference", "")), facts["reference"]),
        EvidenceItem(_label(_("due at")), facts["due"]),
        EvidenceItem(_label(_("late by (when detected)")), facts["late"]),
    ]


def _shipping_delay(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    facts = _late_facts(details)
    reference = details.get("reference")
    if reference == "last_tracking_event":
        phrase = _("no tracking news since %(reference)s, %(late)s past the %(allowed)s allowed") % facts
    elif reference == "promised_ship_by":
        phrase = _("not shipped %(late)s after the promised %(due)s") % facts
    else:
        phrase = _("not shipped %(late)s after %(due)s (%(allowed)s after placing)") % facts
    return _Rendered(_late_items(details, facts) if want else [], [phrase])


def _review_timeout(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    facts = _late_facts(details)
    phrase = _("not reviewed %(late)s after %(due)s (%(allowed)s allowed)") % facts
    return _Rendered(_late_items(details, facts) if want else [], [phrase])


def _payment_failed(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    payment = details["payment"]
    amount = money_text(payment.get("amount"), payment.get("currency"))
    phrase = _("payment %(transaction)s of %(amount)s failed") % {
        "transaction": payment.get("transaction_id", ""),
        "amount": amount,
    }
    if not want:
        return _Rendered([], [phrase])
    items = [
        EvidenceItem(_label(_("transaction ID")), str(payment.get("transaction_id", ""))),
        EvidenceItem(_label(_("amount")), amount),
        EvidenceItem(_label(_("status")), _status_label(payment.get("status"), Payment.Status)),
    ]
    if payment.get("paid_at"):
        items.append(EvidenceItem(_label(_("paid at")), time_text(payment["paid_at"])))
    if payment.get("method"):
        items.append(EvidenceItem(_label(_("method")), str(payment["method"])))
    return _Rendered(items, [phrase])


# problem code → (label, value, phrase) of it, each a function of the details' facts.
_Problem = Callable[[Mapping[str, Any]], tuple[str, str, str]]
_CUSTOMER_PROBLEMS: dict[str, _Problem] = {
    "name_empty": lambda f: (_("customer name"), _("empty"), _("customer name empty")),
    "phone_empty": lambda f: (_("customer phone"), _("empty"), _("phone empty")),
    "phone_invalid": lambda f: (
        _("customer phone"),
        _("%(phone)s is not a valid phone number") % f,
        _("invalid phone %(phone)s") % f,
    ),
    "email_invalid": lambda f: (
        _("customer e-mail"),
        _("%(email)s is not a valid e-mail address") % f,
        _("malformed e-mail %(email)s") % f,
    ),
}
_ADDRESS_PROBLEMS: dict[str, _Problem] = {
    "province_empty": lambda f: (_("province"), _("empty"), _("province empty")),
    "city_empty": lambda f: (_("city"), _("empty"), _("city empty")),
    "detail_empty": lambda f: (_("address detail"), _("empty"), _("address detail empty")),
    "province_unknown": lambda f: (
        _("province"),
        _("%(province)s is not a province of China") % f,
        _("unknown province %(province)s") % f,
    ),
    "city_not_in_province": lambda f: (
        _("city"),
        _("%(city)s is not in %(province)s") % f,
        _("%(city)s is not in %(province)s") % f,
    ),
    "district_not_in_city": lambda f: (
        _("district"),
        _("%(district)s is not in %(city)s") % f,
        _("%(district)s is not in %(city)s") % f,
    ),
    "divisions_mismatch": lambda f: (
        _("address"),
        _("province, city and district do not belong together"),
        _("province, city and district do not belong together"),
    ),
}


def _customer(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    return _problems(details, _CUSTOMER_PROBLEMS, ("phone", "email"), want)


def _address(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    return _problems(details, _ADDRESS_PROBLEMS, ("province", "city", "district"), want)


def _problems(
    details: Mapping[str, Any], texts: Mapping[str, _Problem], keys: tuple[str, ...], want: bool
) -> _Rendered:
    facts = {key: details.get(key, "") for key in keys}
    items, phrases = [], []
    for problem in details.get("problems", []):
        if problem in texts:
            label, value, phrase = texts[problem](facts)
            phrases.append(phrase)
            if want:
                items.append(EvidenceItem(_label(label), capfirst(value)))
    return _Rendered(items, phrases)


def _missing(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    channel = getattr(exception, "channel", "") or ""
    external_id = getattr(exception, "external_id", "") or ""
    channel_label = _status_label(channel, Channel) if channel else ""
    phrase = _("%(channel)s lists order %(external_id)s, which the system does not have") % {
        "channel": channel_label,
        "external_id": external_id,
    }
    if not want:
        return _Rendered([], [phrase])
    items = [
        EvidenceItem(_label(_("channel")), channel_label),
        EvidenceItem(_label(_("external ID")), external_id),
    ]
    if details.get("total_amount") is not None:
        items.append(EvidenceItem(_label(_("total amount (as listed)")), money_text(details["total_amount"])))
    if details.get("placed_at"):
        items.append(EvidenceItem(_label(_("placed at (as listed)")), time_text(details["placed_at"])))
    return _Rendered(items, [phrase])


_BUILTIN: dict[str, tuple[Callable[[Mapping[str, Any], Any, bool], _Rendered], tuple[str, ...]]] = {
    # code → (renderer, keys the details must have for it)
    "STOCK_SHORTAGE": (_stock, ("lines",)),
    "TRACKING_INVALID": (_tracking, ("shipments",)),
    "PAYMENT_STATUS_MISMATCH": (_paid, ("total_amount", "paid_total", "missing_amount")),
    "AMOUNT_MISMATCH": (_amount, ("total_amount", "lines_total", "expected_amount", "difference")),
    "DUPLICATE_ORDER": (_duplicate, ("duplicate_of",)),
    "PRICE_ANOMALY": (_price, ("lines",)),
    "ITEM_MISMATCH": (_items, ("skus",)),
    "SHIPPING_DELAY": (_shipping_delay, ("reference", "due_at")),
    "REVIEW_TIMEOUT": (_review_timeout, ("reference", "due_at")),
    "PAYMENT_FAILED": (_payment_failed, ("payment",)),
    "CUSTOMER_INFO_INVALID": (_customer, ("problems",)),
    "ADDRESS_INVALID": (_address, ("problems",)),
    "MISSING_ORDER": (_missing, ()),
}


# --- Any other rule: the values of the fields it read -------------------------------------------

# What identifies a row comes first in its evidence (the rest alphabetically).
_ROW_KEY_ORDER = {
    key: index
    for index, key in enumerate(("line_no", "shipment_id", "transaction_id", "sku", "carrier", "tracking_number"))
}
_VERDICTS = frozenset({"valid_phone", "valid_email", "valid_tracking"})
_COLLECTION_LABELS = {
    "lines": gettext_lazy("order line"),
    "shipments": gettext_lazy("shipment"),
    "shipment_lines": gettext_lazy("shipment line"),
    "payments": gettext_lazy("payment"),
}


def _field_value(scope: str, name: str, value: Any, currency: str | None) -> tuple[str, str]:
    """(label, value) of one read field of a custom rule."""
    if "." in name and name.rsplit(".", 1)[1] in _VERDICTS:
        base = name.rsplit(".", 1)[0]
        definition = rule_selectors.rule_field(scope=scope, name=base)
        field_label = str(definition.label) if definition else base
        return _("%(field)s is valid") % {"field": capfirst(field_label)}, _yes_no(value)
    if name == "line_no":
        return _label(_("line number")), str(value)
    if name == "shipment_id":
        return _label(_("shipment")), f"#{value}"
    definition = rule_selectors.rule_field(scope=scope, name=name)
    if definition is None:
        return name, _display(value)
    label = _label(definition.label)
    if value is None or value == "":
        return label, "—"
    kind = definition.type.value
    if kind == "decimal":
        return label, (_percent(value) if name == "price_ratio" else money_text(value, currency))
    if kind in ("datetime", "age"):
        return label, time_text(value)
    if kind == "boolean":
        return label, _yes_no(value)
    if kind == "set" and isinstance(value, list):
        # A multiple choice of the order form: its options by their labels.
        return label, _(", ").join(str(definition.choice_labels.get(item, item)) for item in value)
    if kind == "integer":
        return label, _count(value)
    if kind == "enum" and name == "status":
        return label, _status_label(value, Payment.Status if scope == "payment" else Order.Status)
    if kind == "enum" and name == "latest_payment_status":
        return label, _status_label(value, Payment.Status)
    if kind == "enum" and name == "channel":
        return label, _status_label(value, Channel)
    return label, str(value)


def _display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, list | tuple):
        return ", ".join(_display(item) for item in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {_display(item)}" for key, item in value.items())
    return str(value)


def _generic(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    values = details.get("values", {})
    currency = values.get("currency")
    items, phrases = [], []
    # PostgreSQL's jsonb keeps no key order: the facts read in a fixed one on both databases.
    for name in sorted(values, key=lambda key: (key == "currency", key)):
        value = values[name]
        label, text = _field_value("order", name, value, currency)
        items.append(EvidenceItem(label, text))
        if name != "currency":  # read for the amounts; no fact of its own
            phrases.append(_("%(field)s %(value)s") % {"field": label, "value": text})
    if not want:
        return _Rendered(items, phrases)
    for key in sorted(details):
        rows = details[key]
        collection = key.rsplit("_", 1)[0] if key.rsplit("_", 1)[-1].isdigit() else key
        scope = rule_selectors.collection_scope(collection=collection)
        if scope is None or not isinstance(rows, list):
            continue
        title = _label(_COLLECTION_LABELS.get(collection, collection))
        for number, row in enumerate(rows, start=1):
            parts = []
            for name in sorted(row, key=lambda key: (_ROW_KEY_ORDER.get(key, len(_ROW_KEY_ORDER)), key)):
                label, text = _field_value(scope, name, row[name], currency)
                parts.append(_("%(field)s: %(value)s") % {"field": label, "value": text})
            items.append(EvidenceItem(f"{title} {number}", _(", ").join(parts)))
    return _Rendered(items, phrases)


def _fallback(details: Mapping[str, Any], exception: Any, want: bool) -> _Rendered:
    """Details of no known shape: a detector's own ``summary``, else its scalar facts."""
    own = details.get("summary")
    if isinstance(own, str) and own.strip():
        return _Rendered([EvidenceItem(_label(_("summary")), own.strip())], [own.strip()])
    facts = [
        (str(key), value)
        for key, value in details.items()
        if isinstance(value, str | int | float | Decimal) and not isinstance(value, bool)
    ]
    items = [EvidenceItem(key, _display(value)) for key, value in details.items()]
    return _Rendered(items, [f"{key}={value}" for key, value in facts[:_FALLBACK_FACTS]])


def _render(
    rule: ExceptionRule, details: Mapping[str, Any] | None, exception: Any = None, *, want: bool = True
) -> _Rendered:
    details = details if isinstance(details, Mapping) else {}
    builtin = _BUILTIN.get(rule.code)
    try:
        if builtin is not None and all(key in details for key in builtin[1]):
            return builtin[0](details, exception, want)
        if "values" in details and isinstance(details["values"], Mapping):
            return _generic(details, exception, want)
    except (KeyError, TypeError, ValueError, InvalidOperation):
        # Details stored by an older version of a detector: shown as they are.
        pass
    return _fallback(details, exception, want)


# --- Public ---------------------------------------------------------------------------------------


def exception_evidence(exception: OrderException) -> list[EvidenceItem]:
    """The facts that raised ``exception``, as ``EvidenceItem``s in the active language.

    Takes an ``OrderException`` with its rule loaded (``select_related("rule")`` saves a query);
    returns one item per fact (a short SKU, a bad tracking number, the earlier duplicate with
    its ``order_id`` and admin ``url``), in a stable order; an empty list when nothing was recorded.
    Runs no query beyond reading the rule.
    """
    return _render(exception.rule, exception.details, exception).items


def summary_text(
    *, rule: ExceptionRule, details: Mapping[str, Any] | None, channel: str = "", external_id: str = ""
) -> str:
    """One line in the active language: the rule's name and what made it hold.

    ``SKU-1 short by 3 (ordered 5, available 2)`` after "Stock shortage: "; at most two facts,
    then how many more. ``channel`` and ``external_id`` are a missing order's key.
    """
    rendered = _render(rule, details, SimpleNamespace(channel=channel, external_id=external_id), want=False)
    name = localized(rule.name, rule.name_en)
    if not rendered.phrases:
        return name
    text = _("; ").join(rendered.phrases[:SUMMARY_PHRASES])
    more = len(rendered.phrases) - SUMMARY_PHRASES
    if more > 0:
        text = _("%(facts)s and %(count)d more") % {"facts": text, "count": more}
    return _("%(rule)s: %(evidence)s") % {"rule": name, "evidence": text}


def exception_summary_text(exception: OrderException) -> str:
    """``summary_text`` of an exception: its one line in the active language (no query with the rule loaded)."""
    return summary_text(
        rule=exception.rule, details=exception.details, channel=exception.channel, external_id=exception.external_id
    )


def _department_name(event: ExceptionEvent, code: str) -> str:
    exception = event.exception if ExceptionEvent.exception.is_cached(event) else None
    department = getattr(exception, "department", None) if exception is not None else None
    if department is None or department.code != code:
        department = Department.objects.filter(code=code).first()
    return department.display_name if department is not None else code


def _severity_label(value: Any) -> str:
    try:
        return str(Severity(value).label)
    except ValueError:
        return str(value)


def _step_name(event: ExceptionEvent, key: str) -> str:
    """A handling step's name in the active language, from the exception's cases (read once per
    exception and kept on it, so a long audit trail costs one query); the key if none has it."""
    exception = event.exception
    names = getattr(exception, "_og_step_names", None)
    if names is None:
        names = {}
        for steps in exception.cases.values_list("steps", flat=True):
            for step in steps or []:
                if isinstance(step, Mapping) and isinstance(step.get("name"), Mapping):
                    names.setdefault(step.get("key"), step["name"])
        exception._og_step_names = names
    name = names.get(key)
    if not name:
        return key
    return localized(name.get("zh-hans") or name.get("en") or key, name.get("en") or "")


def _with_note(text: str, note: Any) -> str:
    if isinstance(note, str) and note.strip():
        return text + " " + note.strip()
    return text


def _pause_label(value: Any) -> str:
    try:
        return str(PauseReason(value).label)
    except ValueError:
        return str(value or "?")


def _sla_event_text(event: ExceptionEvent, data: Mapping) -> str | None:
    """The SLA clock, its escalation ladder and a manager's approval as sentences (None: another kind)."""
    kind = event.kind
    if kind == ExceptionEvent.Kind.PAUSED:
        return _with_note(
            _("Clock paused: %(reason)s.") % {"reason": _pause_label(data.get("reason"))}, data.get("note")
        )
    if kind == ExceptionEvent.Kind.RESUMED:
        paused = _seconds_text(int(data.get("paused_seconds") or 0))
        if data.get("due_at"):
            text = _("Clock resumed after %(paused)s paused (business time); resolution now due %(due)s.") % {
                "paused": paused,
                "due": time_text(data["due_at"]),
            }
        else:
            text = _("Clock resumed after %(paused)s paused (business time); the deadlines moved by as much.") % {
                "paused": paused
            }
        return _with_note(text, data.get("note"))
    if kind in (ExceptionEvent.Kind.FIRST_RESPONSE_BREACHED, ExceptionEvent.Kind.RESOLUTION_BREACHED):
        first = kind == ExceptionEvent.Kind.FIRST_RESPONSE_BREACHED
        if data.get("due_at"):
            due = {"due": time_text(data["due_at"])}
            return (
                _("First-response deadline missed (due %(due)s).") % due
                if first
                else _("Resolution deadline missed (due %(due)s).") % due
            )
        return _("First-response deadline missed.") if first else _("Resolution deadline missed.")
    if kind == ExceptionEvent.Kind.REMINDED:
        facts = {"step": _step_name(event, data.get("step", "")), "user": data.get("user") or "?"}
        return _("Reminder sent to %(user)s: the deadline of “%(step)s” is near.") % facts
    if kind == ExceptionEvent.Kind.LEAD_NOTIFIED:
        facts = {"step": _step_name(event, data.get("step", "")), "user": data.get("user", "")}
        if facts["user"]:
            return _("The department's lead %(user)s was told that “%(step)s” missed its deadline.") % facts
        return _("“%(step)s” missed its deadline; the department has no lead to tell.") % facts
    if kind == ExceptionEvent.Kind.SEVERITY_RAISED:
        text = _("Severity raised from %(previous)s to %(severity)s.") % {
            "previous": _severity_label(data.get("previous", "")),
            "severity": _severity_label(data.get("severity", "")),
        }
        return _with_note(text, data.get("reason"))
    if kind == ExceptionEvent.Kind.APPROVAL_DECIDED:
        return _decision_text(data)
    return None


def _decision_text(data: Mapping) -> str:
    """A manager's decision on an approval, with the proposal it was about and the reason."""
    decision = data.get("decision")
    reason = data.get("reason") if isinstance(data.get("reason"), str) else ""
    proposal = data.get("proposal") if isinstance(data.get("proposal"), str) else ""
    if decision == "approve":
        text = (
            _("Manager approved the proposal: %(proposal)s.") % {"proposal": proposal}
            if proposal
            else _("Manager approved the resolution.")
        )
    elif decision == "reject":
        text = (
            _("Manager rejected the proposal (%(proposal)s) and sent it back.") % {"proposal": proposal}
            if proposal
            else _("Manager sent it back to the assignee.")
        )
    elif decision == "reassign":
        text = _("Manager reassigned it to %(user)s.") % {"user": data.get("user") or "?"}
    elif decision == "raise_severity":
        text = _("Manager raised the severity.")
    elif decision == "dismiss":
        text = _("Manager dismissed it as not real.")
    else:
        text = _("Manager decided.")
    if reason.strip():
        text += " " + _("Reason: %(reason)s") % {"reason": reason.strip()}
    return text


def event_text(event: ExceptionEvent) -> str:
    """One sentence in the active language for an audit-trail event, from its kind and data.

    Takes an ``ExceptionEvent`` (with its exception loaded, as the detail page prefetches it);
    returns e.g. "Detected: severity High, routed to Warehouse." or "Resolved automatically: the
    condition no longer holds.". A kind this function does not know reads as its label.
    """
    data = event.data if isinstance(event.data, Mapping) else {}
    kind = event.kind
    if kind == ExceptionEvent.Kind.DETECTED:
        facts = {"severity": _severity_label(data.get("severity", ""))}
        if data.get("department"):
            facts["department"] = _department_name(event, data["department"])
            text = _("Detected: severity %(severity)s, routed to %(department)s.") % facts
        else:
            text = _("Detected: severity %(severity)s; no grading row named a department.") % facts
        if data.get("recurrence_of"):
            text += " " + _("A recurrence of exception #%(previous)s.") % {"previous": data["recurrence_of"]}
        return text
    if kind == ExceptionEvent.Kind.AUTO_RESOLVED:
        if data.get("order"):
            return _("Resolved automatically: the order arrived (order #%(order)s).") % {"order": data["order"]}
        return _("Resolved automatically: the condition no longer holds.")
    if kind == ExceptionEvent.Kind.REDETECTED:
        rendered = _render(event.exception.rule, data.get("details"), event.exception, want=False)
        evidence = _("; ").join(rendered.phrases[:SUMMARY_PHRASES]) or _("details changed")
        return _("Detected again with new evidence (occurrence %(count)s): %(evidence)s.") % {
            "count": data.get("occurrences", "?"),
            "evidence": evidence,
        }
    if kind == ExceptionEvent.Kind.ASSIGNED:
        text = _("Assigned to %(user)s.") % {"user": data.get("assignee", "?")}
        if data.get("reason"):
            text += " " + _("Reason: %(reason)s") % {"reason": data["reason"]}
        return text
    if kind == ExceptionEvent.Kind.ROUTED:
        place = {"department": _department_name(event, data["department"]) if data.get("department") else "?"}
        if data.get("assignee"):
            text = _("Handling step taken by %(user)s (%(department)s).") % {**place, "user": data["assignee"]}
        else:
            text = _("Handling step waiting in the queue of %(department)s.") % place
        if data.get("notice"):
            text += " " + data["notice"]
        return text
    if kind == ExceptionEvent.Kind.STEP_OVERDUE:
        return _("A handling step passed its deadline.")
    if kind == ExceptionEvent.Kind.RESOLVED:
        cause = RootCause(data["root_cause"]).label if data.get("root_cause") in RootCause.values else "?"
        text = _("Resolved; root cause: %(cause)s.") % {"cause": cause}
        if data.get("note"):
            text += " " + data["note"]
        return text
    sla = _sla_event_text(event, data)
    if sla is not None:
        return sla
    label = capfirst(str(event.get_kind_display()))
    if isinstance(data.get("reason"), str) and data["reason"].strip():
        return _("%(event)s: %(note)s") % {"event": label, "note": data["reason"].strip()}
    note = data.get("note") or data.get("comment")
    if isinstance(note, str) and note.strip():
        return _("%(event)s: %(note)s") % {"event": label, "note": note.strip()}
    return label


__all__ = [
    "EvidenceItem",
    "duration_text",
    "event_text",
    "exception_evidence",
    "exception_summary_text",
    "money_text",
    "summary_text",
    "time_text",
]
