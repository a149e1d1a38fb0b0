"""Languages (I18N-1): crmcore's user-facing texts in eight locales, amounts and dates by Babel.

Texts are gettext messages with English msgids (marked ``N_`` in the source), kept in
``crmcore/locale/<lang>/LC_MESSAGES/crmcore.po`` and compiled to ``.mo`` files that ship in
the wheel; ``scripts/i18n.py`` extracts, updates and compiles them.

>>> from datetime import date
>>> from crmcore.money import Money
>>> text = format_value(Money.of("1231.47", "PLN"), "pl")  # '1 231,47 zł' with Babel 2.19
>>> text.replace("\\xa0", "").replace(" ", "")
'1231,47zł'
>>> format_value(date(2026, 1, 15), "de")
'15.01.2026'
>>> translate("Bank transfer fee", "pl")
'Opłata za przelew bankowy'
"""

from __future__ import annotations

import enum
import functools
import gettext
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from crmcore.errors import N_, ValidationError
from crmcore.invoices import Invoice, InvoiceLine, LineKind
from crmcore.money import Money, format_money

__all__ = [
    "DOMAIN",
    "LOCALES",
    "LOCALE_DIRECTORY",
    "N_",
    "Refused",
    "describe_notice",
    "format_value",
    "line_description",
    "render_invoice",
    "sentence",
    "translate",
    "translate_refusal",
    "translations",
]

DOMAIN = "crmcore"
LOCALES: tuple[str, ...] = ("pl", "en", "de", "fr", "es", "ru", "cs", "sk")
LOCALE_DIRECTORY = Path(__file__).parent / "locale"


@functools.cache
def translations(locale: str) -> gettext.GNUTranslations:
    """The compiled catalogue of ``locale``; an unsupported locale is refused (I18N-1)."""
    if locale not in LOCALES:
        raise ValidationError(
            f"unsupported locale {locale!r} (supported: {', '.join(LOCALES)})",
            field="locale",
            rule="I18N-1",
        )
    with (LOCALE_DIRECTORY / locale / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as file:
        return gettext.GNUTranslations(file)


def format_value(value: object, locale: str) -> str:
    """A value as the locale writes it: money and numbers by Babel, dates in the medium style."""
    if isinstance(value, Money):
        return format_money(value, locale)
    if isinstance(value, datetime):
        return str(format_datetime(value, "medium", tzinfo=value.tzinfo, locale=locale))
    if isinstance(value, date):
        return str(format_date(value, "medium", locale=locale))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | Decimal):
        return str(format_decimal(value, locale=locale))
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def translate(message: str, locale: str, params: Mapping[str, object] | None = None) -> str:
    """``message`` (an English msgid) in ``locale``, with ``params`` formatted for it."""
    text = translations(locale).gettext(message)
    values = {name: format_value(value, locale) for name, value in (params or {}).items()}
    return text.format(**values)


class Refused(Protocol):
    """What :func:`translate_refusal` renders: a :class:`~crmcore.errors.RuleViolation` (a
    ``SeatError``, ``LimitError``, ``CommandRefused``, ``ServiceRefusal``...) or a refusal of
    :mod:`crmcore.outcomes` (what the scenario runner shows)."""

    @property
    def template(self) -> str | None: ...

    @property
    def params(self) -> Mapping[str, object]: ...

    @property
    def rule(self) -> str | None: ...


def sentence(text: str) -> str:
    """``text`` ended with a full stop, unless it ends with one already: a date some locales
    abbreviate ends a sentence with its own ("10 мар. 2026 г.", ru), not with two."""
    return text if text.endswith(".") else f"{text}."


def _one_stop(text: str) -> str:
    """A translated sentence whose last placeholder (a date) already ended with a full stop
    ("31 янв. 2027 г.", ru) keeps one stop, not the template's second one (I18N-1)."""
    return sentence(text[:-1]) if text.endswith("..") else text


def translate_refusal(error: Refused, locale: str) -> str:
    """A refusal's text in ``locale``, followed by its rule ID: ``... (MAIL-3)``. A refusal
    without a template (plain English, raised by other code) is shown as it is."""
    if error.template is None:
        text = str(getattr(error, "problem", None) or getattr(error, "message", ""))
    else:
        text = _one_stop(translate(error.template, locale, error.params))
    return f"{text} ({error.rule})" if error.rule else text


# --- notices (NOTICE, END) ------------------------------------------------------------------------


class _Notice(Protocol):
    @property
    def day(self) -> date: ...

    @property
    def rule(self) -> str: ...


NOTICE_TEXTS: dict[str, str] = {
    "NOTICE-1": N_("The new terms take effect on {day}."),
    "NOTICE-2": N_("The new prices apply from {day}."),
    "NOTICE-3": N_("The new limits take effect on {day}."),
    "NOTICE-4": N_("Refusing the new terms cancels the service on {day}."),
    "END-1": N_("The contract ends on {day}."),
    "END-2": N_("After the notice the contract ends on {day}."),
    "END-3": N_("The contract ends on {day}, the day the withdrawal was delivered."),
    "END-4": N_("The service is cancelled on {day}."),
    "PAY-3": N_("The contract is cancelled for late payment on {day}."),
}


def describe_notice(notice: _Notice, locale: str) -> str:
    """A notice decision (``crmcore.notices.NoticeDate``) as a sentence in ``locale``."""
    template = NOTICE_TEXTS.get(notice.rule)
    if template is None:
        raise ValidationError(f"no text for rule {notice.rule!r}", field="rule", rule="I18N-1")
    return f"{_one_stop(translate(template, locale, {'day': notice.day}))} ({notice.rule})"


# --- invoices -------------------------------------------------------------------------------------

LINE_TEXTS: dict[LineKind, str] = {
    LineKind.SUBSCRIPTION: N_("Subscription {plan}"),
    LineKind.SEATS: N_("Additional seats {plan}"),
    LineKind.UPGRADE: N_("Upgrade to {plan}"),
    LineKind.TRANSFER_FEE: N_("Bank transfer fee"),
    LineKind.SLA_CREDIT: N_("Service level credit"),
    LineKind.ADDON: N_("Additional service {description}"),
}


def line_description(line: InvoiceLine, locale: str) -> str:
    """An invoice line's description in ``locale``: what, how many seats, which days."""
    catalogue = translations(locale)
    text = translate(
        LINE_TEXTS[line.kind], locale, {"plan": line.plan or "", "description": line.description}
    ).strip()
    if line.seats is not None:
        seats = catalogue.ngettext("{count} seat", "{count} seats", line.seats)
        text += ", " + seats.format(count=format_value(line.seats, locale))
    if line.first_day is not None and line.last_day is not None:
        first, last = format_value(line.first_day, locale), format_value(line.last_day, locale)
        text += f", {first} – {last}"
    return text


def render_invoice(invoice: Invoice, locale: str) -> str:
    """The invoice as plain text in ``locale``: header, one row per line, totals. A correction
    (BILL-6) is titled as one and names the invoice it corrects."""
    if invoice.corrects is None:
        title = translate(N_("Invoice {number}"), locale, {"number": invoice.number})
    else:
        title = translate(
            N_("Correction {number} of invoice {corrects}"),
            locale,
            {"number": invoice.number, "corrects": invoice.corrects},
        )
    header = [
        title,
        translate(N_("Issue date: {date}"), locale, {"date": invoice.issued}),
        translate(N_("Due date: {date}"), locale, {"date": invoice.due}),
        "",
    ]
    rows = [
        f"{line_description(line, locale)}: {format_value(line.net, locale)}"
        for line in invoice.lines
    ]
    rate = str(format_percent(invoice.vat_rate, locale=locale, decimal_quantization=False))
    totals = [
        "",
        translate(N_("Net: {amount}"), locale, {"amount": invoice.net}),
        translate(N_("VAT {rate}: {amount}"), locale, {"rate": rate, "amount": invoice.vat}),
        translate(N_("Total: {amount}"), locale, {"amount": invoice.gross}),
    ]
    return "\n".join(header + rows + totals) + "\n"
