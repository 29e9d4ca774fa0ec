"""How numbers are read aloud in announcements: Mandarin and English, quantities and digit strings.

Each function returns the names of the prompts to play, in order; a prompt set
(:mod:`cti.prompts.promptset`) holds one recording per name. Two ways of reading:

**Quantities** (queue position, minutes of expected wait) are read as numbers.

* Mandarin: Chinese numerals with 十 / 百 / 千 / 万: 3 三, 12 十二 (not 一十二 at the
  start), 20 二十, 105 一百零五 (one 零 for a run of zeros inside), 110 一百一十, 1010
  一千零一十, 10 000 一万, 100 000 十万. A 2 that counts something before a measure word
  (位, 分钟) is 两: 两位, 两分钟, 两百, 两千, 两万; inside a number it stays 二 (十二, 二十二).
* English: "twenty one", "one hundred and five", "two thousand and ten".

**Digit strings** (agent work numbers, phone numbers, account numbers) are read digit by
digit, never as a number: 工号 1024 is 幺零二四, not 一千零二十四.

* Mandarin: in a digit string 1 is read 幺 (yāo), as the telephone and radio practice has
  it, so it is never confused with 七 (qī) on a noisy line; 0 is 零 (líng); 2 is 二 (èr,
  never 两). 7 stays 七.
* English: digit by digit, 0 as "zero".

Prompt names: ``"0"`` .. ``"9"`` digits / units, ``"yao"`` 幺, ``"liang"`` 两, ``"10"`` 十,
``"100"`` 百, ``"1000"`` 千, ``"10000"`` 万 (Mandarin); ``"0"`` .. ``"19"``, ``"20"`` ..
``"90"``, ``"hundred"``, ``"thousand"``, ``"million"``, ``"and"`` (English).
"""
from __future__ import annotations

MAX_QUANTITY = 99_999_999


class NumberError(ValueError):
    """A number that cannot be read (negative, too large, not digits)."""


def _check(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_QUANTITY:
        raise NumberError(f"cannot read {n!r}: a whole number 0..{MAX_QUANTITY} is needed")
    return n


def _digits(s: str) -> str:
    s = str(s).strip()
    if not s or not s.isascii() or not s.isdigit():
        raise NumberError(f"cannot read {s!r} digit by digit: digits 0-9 only")
    return s


# ---- Mandarin ------------------------------------------------------------------------------------
def _zh_below_10000(n: int, *, leading: bool, measure: bool) -> list[str]:
    """0 < n < 10000; ``leading``: the first group of the number (十二, not 一十二)."""
    out: list[str] = []
    units = [(1000, "1000"), (100, "100"), (10, "10"), (1, "")]
    zero_pending = False
    started = False
    for value, unit in units:
        d = (n // value) % 10
        if d == 0:
            if started:
                zero_pending = True
            continue
        if zero_pending:
            out.append("0")
            zero_pending = False
        if value == 10 and d == 1 and leading and not started:
            out.append("10")                     # 十二, not 一十二
        elif d == 2 and measure and not started and value in (1000, 100):
            out += ["liang", unit]               # 两千, 两百
        elif d == 2 and measure and not started and value == 1 and leading:
            out.append("liang")                  # 两 (位)
        else:
            out += [str(d)] + ([unit] if unit else [])
        started = True
    return out


def zh_quantity(n: int, *, measure: bool = True) -> list[str]:
    """``n`` as Chinese numerals (see the module docstring); ``measure``: 2 counts something (两)."""
    n = _check(n)
    if n == 0:
        return ["0"]
    high, low = divmod(n, 10_000)
    out: list[str] = []
    if high:
        if high == 2 and measure:
            out += ["liang", "10000"]
        else:
            out += _zh_below_10000(high, leading=True, measure=False) + ["10000"]
        if low:
            if low < 1000:
                out.append("0")                  # 一万零五百
            out += _zh_below_10000(low, leading=False, measure=False)
    else:
        out = _zh_below_10000(low, leading=True, measure=measure)
    return out


def zh_digits(s: str | int) -> list[str]:
    """A digit string digit by digit, 1 read 幺 (``"yao"``)."""
    return ["yao" if ch == "1" else ch for ch in _digits(str(s))]


# ---- English -------------------------------------------------------------------------------------
def _en_below_1000(n: int) -> list[str]:
    out: list[str] = []
    h, rest = divmod(n, 100)
    if h:
        out += [str(h), "hundred"]
        if rest:
            out.append("and")
    if rest:
        if rest < 20:
            out.append(str(rest))
        else:
            t, u = divmod(rest, 10)
            out.append(str(t * 10))
            if u:
                out.append(str(u))
    return out


def en_quantity(n: int) -> list[str]:
    """``n`` in English words ("one hundred and five")."""
    n = _check(n)
    if n == 0:
        return ["0"]
    out: list[str] = []
    for value, word in ((1_000_000, "million"), (1000, "thousand")):
        if n >= value:
            out += _en_below_1000(n // value) + [word]
            n %= value
    if n:
        if out and n < 100:
            out.append("and")
        out += _en_below_1000(n)
    return out


def en_digits(s: str | int) -> list[str]:
    """A digit string digit by digit ("one zero two four")."""
    return list(_digits(str(s)))


def quantity(language: str, n: int) -> list[str]:
    return zh_quantity(n) if language == "zh" else en_quantity(n)


def digits(language: str, s: str | int) -> list[str]:
    return zh_digits(s) if language == "zh" else en_digits(s)


#: What each Mandarin prompt name says (characters), for documentation and checks.
ZH_TEXT = {"0": "零", "1": "一", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六", "7": "七", "8": "八",
           "9": "九", "yao": "幺", "liang": "两", "10": "十", "100": "百", "1000": "千", "10000": "万"}


def zh_text(tokens: list[str]) -> str:
    """The characters a Mandarin token list reads (``zh_text(zh_quantity(105)) == "一百零五"``)."""
    return "".join(ZH_TEXT[t] for t in tokens)
