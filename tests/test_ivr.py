"""IVR: digit collection (timeouts, terminator, barge-in), TOML menus, a caller's walk."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from cti.ivr.collect import CollectSpec, CollectState, DigitCollector


def test_collect_max_digits_after_prompt():
    c = DigitCollector(CollectSpec(max_digits=3))
    c.start(0.0, prompt=True)
    c.prompt_done(2.0)
    for i, d in enumerate("123"):
        c.digit(d, 3.0 + i)
    assert c.result.digits == "123" and c.result.reason == "max"


def test_collect_terminator_and_inter_digit_timeout():
    c = DigitCollector(CollectSpec(max_digits=8, inter_digit_timeout=3.0))
    c.start(0.0, prompt=False)
    c.digit("4", 1.0)
    c.digit("#", 2.0)
    assert (c.result.digits, c.result.reason) == ("4", "terminator")
    c = DigitCollector(CollectSpec(max_digits=8, inter_digit_timeout=3.0))
    c.start(0.0, prompt=False)
    c.digit("4", 1.0)
    c.service(3.9)
    assert c.result is None
    c.service(4.0)
    assert (c.result.digits, c.result.reason) == ("4", "timeout")


def test_collect_first_digit_timeout_starts_after_prompt():
    c = DigitCollector(CollectSpec(first_timeout=5.0))
    c.start(0.0, prompt=True)
    c.service(100.0)                  # the prompt is still playing: no timeout
    assert c.state is CollectState.PROMPTING
    c.prompt_done(100.0)
    c.service(105.0)
    assert (c.result.digits, c.result.reason) == ("", "timeout")


def test_barge_in_stops_prompt_and_counts_digit():
    c = DigitCollector(CollectSpec(max_digits=2))
    c.start(0.0, prompt=True)
    c.digit("7", 0.5)
    assert c.stop_prompt and c.digits == "7"
    c = DigitCollector(CollectSpec(max_digits=2, barge_in=False))
    c.start(0.0, prompt=True)
    c.digit("7", 0.5)
    assert not c.stop_prompt and c.digits == ""


def test_collect_spec_errors():
    with pytest.raises(ValueError, match="max_digits"):
        CollectSpec(max_digits=0)
    with pytest.raises(ValueError, match="terminator"):
        CollectSpec(terminator="x")
    c = DigitCollector(CollectSpec())
    c.start(0.0, prompt=False)
    with pytest.raises(ValueError, match="not a DTMF digit"):
        c.digit("x", 1.0)


# --- menus -------------------------------------------------------------------------------------------


def write_prompt(path, seconds=0.5, hz=440):
    from cti.media import wavfile
    t = np.arange(int(8000 * seconds)) / 8000
    wavfile.write(path, (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16), fmt=wavfile.FORMAT_PCM)


MENU = textwrap.dedent("""
    [ivr]
    start = "main"
    prompt_dir = "prompts"

    [ivr.menus.main]
    prompt = "welcome.wav"
    retries = 1
    invalid_prompt = "invalid.wav"
    on_fail = { queue = "operator" }
    options."1" = { queue = "sales" }
    options."2" = { menu = "account" }
    options."9" = { hangup = true }

    [ivr.menus.account]
    prompt = "account.wav"
    max_digits = 6
    var = "account"
    then = { queue = "support", priority = 5 }
""")


@pytest.fixture
def ivr(tmp_path):
    from cti.ivr import IvrConfig
    (tmp_path / "prompts").mkdir()
    for name in ("welcome", "invalid", "account"):
        write_prompt(tmp_path / "prompts" / f"{name}.wav")
    (tmp_path / "ivr.toml").write_text(MENU)
    return IvrConfig.load(tmp_path / "ivr.toml")


def test_menu_choice_to_queue(ivr):
    from cti.ivr import IvrSession, Play, ToQueue
    s = IvrSession(ivr, "call-1")
    acts = s.start(0.0)
    assert isinstance(acts[0], Play) and acts[0].prompt == "welcome.wav" and len(acts[0].audio) == 4000
    s.prompt_done(0.5)
    acts = s.digit("1", 1.0)
    assert acts[-1] == ToQueue("sales", 0, {})


def test_submenu_collects_account_with_terminator(ivr):
    from cti.ivr import DigitsCollected, IvrSession, ToQueue
    s = IvrSession(ivr, "call-2")
    s.start(0.0)
    s.digit("2", 0.1)                          # barge-in on the welcome prompt
    s.prompt_done(1.0)
    for d in "4711":
        s.digit(d, 2.0)
    acts = s.digit("#", 3.0)
    assert DigitsCollected("account", "4711", "terminator") in acts
    assert acts[-1] == ToQueue("support", 5, {"account": "4711"})


def test_invalid_then_retries_exhausted_go_to_on_fail(ivr):
    from cti.ivr import IvrSession, Play, ToQueue
    s = IvrSession(ivr, "call-3")
    s.start(0.0)
    s.prompt_done(0.5)
    acts = s.digit("5", 1.0)                   # invalid: invalid prompt, then the menu again
    assert [a.prompt for a in acts if isinstance(a, Play)] == ["invalid.wav", "welcome.wav"]
    s.prompt_done(2.0)
    acts = s.service(7.0)                      # no input: second failure -> on_fail
    assert acts[-1] == ToQueue("operator", 0, {})
    assert s.finished and s.digit("1", 8.0) == []


@pytest.mark.parametrize("mutation,message", [
    (lambda t: t.replace('start = "main"', 'start = "nope"'), "unknown menu 'nope'"),
    (lambda t: t.replace('{ menu = "account" }', '{ menu = "ghost" }'), "unknown menu 'ghost'"),
    (lambda t: t.replace('"welcome.wav"', '"missing.wav"'), "not found"),
    (lambda t: t.replace('retries = 1', 'retrys = 1'), "unknown keys"),
    (lambda t: t.replace('{ hangup = true }', '{ queue = "x", hangup = true }'), "exactly one"),
    (lambda t: t.replace('options."9"', 'options."x"'), "not a DTMF digit"),
    (lambda t: t + "\n[broken", "ivr.toml"),
])
def test_menu_config_errors_say_where(tmp_path, mutation, message):
    from cti.ivr import IvrConfig, IvrConfigError
    (tmp_path / "prompts").mkdir()
    for name in ("welcome", "invalid", "account"):
        write_prompt(tmp_path / "prompts" / f"{name}.wav")
    (tmp_path / "ivr.toml").write_text(mutation(MENU))
    with pytest.raises(IvrConfigError, match=message):
        IvrConfig.load(tmp_path / "ivr.toml")
