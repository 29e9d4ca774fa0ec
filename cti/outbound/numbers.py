"""From the number a contact list holds to the digits a trunk sends.

Contact lists hold numbers as people write them: international form (``+86 139 1234 5678``,
E.164 with the country code), national form with the trunk prefix (``010 1234 5678``) or
without (``139 1234 5678``). A trunk sends digits only. :class:`DialPlan` turns the
international form into what the exchange expects from a subscriber of ``country_code``:

* the own country: the national significant number, after ``national_prefix`` unless it is
  a mobile number (China: ``+86 10 1234 5678`` -> ``01012345678``, ``+86 139...`` -> ``139...``);
* another country: ``international_prefix`` + the digits (``+44 20...`` -> ``004420...``).

Numbers without ``+`` are dialled as written. Defaults: China (ITU-T E.164 country code 86,
international prefix 00, trunk prefix 0, mobile numbers 13x-19x of 11 digits).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

_KEYS = {"country_code", "international_prefix", "national_prefix", "mobile_prefixes"}


def is_digits(s: str) -> bool:
    """Only ASCII 0-9 (str.isdigit also takes superscripts and other scripts' digits)."""
    return bool(s) and all("0" <= ch <= "9" for ch in s)


def _digits(value: Any, name: str, empty: bool = True) -> str:
    if not isinstance(value, str) or not (is_digits(value) or (empty and value == "")):
        raise ValueError(f"dial plan {name}: a string of digits, not {value!r}")
    return value


@dataclass(frozen=True)
class DialPlan:
    """Where the dialler is and how its exchange wants numbers (see the module docstring)."""

    country_code: str = "86"
    international_prefix: str = "00"
    national_prefix: str = "0"
    mobile_prefixes: tuple[str, ...] = field(default=tuple(str(p) for p in range(13, 20)))

    def __post_init__(self) -> None:
        _digits(self.country_code, "country_code", empty=False)
        _digits(self.international_prefix, "international_prefix", empty=False)
        _digits(self.national_prefix, "national_prefix")
        if isinstance(self.mobile_prefixes, str) or not all(isinstance(p, str) for p in self.mobile_prefixes):
            raise ValueError(f"dial plan mobile_prefixes: a list of digit strings, not {self.mobile_prefixes!r}")
        for p in self.mobile_prefixes:
            _digits(p, "mobile_prefixes", empty=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> DialPlan:
        """From a ``dial_plan`` table; unknown keys and bad values raise ValueError."""
        d = dict(d or {})
        bad = set(d) - _KEYS
        if bad:
            raise ValueError(f"dial plan: unknown key(s) {sorted(bad)}; known: {sorted(_KEYS)}")
        if "mobile_prefixes" in d:
            mp = d["mobile_prefixes"]
            if isinstance(mp, str) or not isinstance(mp, (list, tuple)):
                raise ValueError(f"dial plan mobile_prefixes: a list of digit strings, not {mp!r}")
            d["mobile_prefixes"] = tuple(mp)
        return cls(**d)

    def dialable(self, number: str) -> str:
        """The digits to send for ``number`` (digits, optionally after one ``+``)."""
        if not isinstance(number, str):
            raise TypeError(f"a number is a str, not {type(number).__name__}")
        intl = number.startswith("+")
        digits = number[1:] if intl else number
        if not is_digits(digits):
            raise ValueError(f"not a telephone number: {number!r}")
        if not intl:
            return digits
        if digits.startswith(self.country_code):
            nsn = digits[len(self.country_code):]
            if not nsn:
                raise ValueError(f"{number!r} has a country code and nothing after it")
            if any(nsn.startswith(p) for p in self.mobile_prefixes):
                return nsn
            return self.national_prefix + nsn
        return self.international_prefix + digits
