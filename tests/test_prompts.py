"""Number reading (Mandarin / English), prompt sets generated with espeak-ng, announcements, TTS."""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti.prompts import PromptMissing, PromptSet, numbers
from cti.prompts.build import generate
from cti.prompts.numbers import NumberError, en_quantity, zh_digits, zh_quantity, zh_text
from cti.tts import CommandEngine, EspeakEngine, TtsError, TtsService, make_engine

HAVE_ESPEAK = shutil.which("espeak-ng") is not None
needs_espeak = pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng (Debian package espeak-ng) not installed")


@pytest.mark.parametrize("n,text", [(0, "零"), (1, "一"), (2, "两"), (3, "三"), (10, "十"), (12, "十二"), (20, "二十"),
                                    (22, "二十二"), (100, "一百"), (105, "一百零五"), (110, "一百一十"), (200, "两百"),
                                    (1001, "一千零一"), (1010, "一千零一十"), (1024, "一千零二十四"), (2000, "两千"),
                                    (10000, "一万"), (10500, "一万零五百"), (20000, "两万"), (100000, "十万"),
                                    (123456, "十二万三千四百五十六")])
def test_mandarin_quantities(n: int, text: str) -> None:
    assert zh_text(zh_quantity(n)) == text


def test_mandarin_digit_strings_read_one_as_yao() -> None:
    assert zh_text(zh_digits("1024")) == "幺零二四"
    assert zh_text(zh_digits("0172")) == "零幺七二"          # 1 and 7 never sound alike
    assert zh_text(zh_digits("2222")) == "二二二二"          # never 两 in a digit string


@pytest.mark.parametrize("n,words", [(0, "0"), (13, "13"), (21, "20 1"), (105, "1 hundred and 5"),
                                     (2010, "2 thousand and 10"), (1_000_000, "1 million")])
def test_english_quantities(n: int, words: str) -> None:
    assert " ".join(en_quantity(n)) == words


@given(st.integers(0, numbers.MAX_QUANTITY))
def test_mandarin_reading_parses_back(n: int) -> None:
    """Reading the tokens back as a Chinese numeral gives the number (the reading is unambiguous)."""
    value = {"0": 0, "1": 1, "2": 2, "liang": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9}
    unit = {"10": 10, "100": 100, "1000": 1000}
    total, section, digit = 0, 0, None
    for t in zh_quantity(n):
        if t in value:
            digit = value[t]
        elif t in unit:
            section += (1 if digit is None else digit) * unit[t]
            digit = None
        elif t == "10000":
            total += (section + (digit or 0)) * 10000
            section, digit = 0, None
    assert total + section + (digit or 0) == n


@given(st.integers(0, numbers.MAX_QUANTITY))
def test_english_reading_parses_back(n: int) -> None:
    total, part = 0, 0
    for w in en_quantity(n):
        if w.isdigit():
            part += int(w)
        elif w == "hundred":
            part *= 100
        elif w in ("thousand", "million"):
            total += part * (1000 if w == "thousand" else 1_000_000)
            part = 0
    assert total + part == n


@pytest.mark.parametrize("bad", [-1, numbers.MAX_QUANTITY + 1, 1.5, True])
def test_bad_quantities(bad: object) -> None:
    with pytest.raises(NumberError):
        zh_quantity(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "12a4", "１２", " "])
def test_bad_digit_strings(bad: str) -> None:
    with pytest.raises(NumberError, match="digit by digit"):
        zh_digits(bad)


# ---- prompt sets -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def zh(tmp_path_factory: pytest.TempPathFactory) -> PromptSet:
    if not HAVE_ESPEAK:
        pytest.skip("espeak-ng (Debian package espeak-ng) not installed")
    return PromptSet.load(generate("zh", tmp_path_factory.mktemp("zh")))


@pytest.mark.system
@needs_espeak
def test_generated_sets_are_reproducible(tmp_path: Path, zh: PromptSet) -> None:
    again = generate("zh", tmp_path / "again")
    for name in ("agent_before", "yao", "3"):
        assert (again / f"{name}.wav").read_bytes() == (zh.directory / f"{name}.wav").read_bytes()
    assert "espeak-ng 1." in (again / "manifest.toml").read_text(encoding="utf-8")


@needs_espeak
def test_agent_number_announcement(zh: PromptSet) -> None:
    names = zh.agent_number_names("1024")
    assert zh.text(names) == "工号幺零二四为您服务"
    audio = zh.agent_number("1024")
    assert len(audio) == sum(len(zh.audio(n)) for n in names)
    assert 1.5 < len(audio) / 8000 < 6.0


@pytest.mark.system
@needs_espeak
def test_queue_position_announcement(zh: PromptSet, tmp_path: Path) -> None:
    assert zh.text(zh.queue_position_names(3)) == "您前面还有三位"
    assert zh.text(zh.queue_position_names(2, 100)) == "您前面还有两位预计等待两分钟"
    en = PromptSet.load(generate("en", tmp_path / "en"))
    assert en.text(en.queue_position_names(3, 130)) == ("There are three callers ahead of you "
                                                        "The expected wait is three minutes")
    assert en.text(en.agent_number_names("1024")) == "Agent number one zero two four will take your call"


@needs_espeak
def test_missing_prompt_is_named_and_can_be_skipped(zh: PromptSet, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(zh.directory, broken)
    (broken / "yao.wav").unlink()
    ps = PromptSet.load(broken)
    with pytest.raises(PromptMissing, match="prompt 'yao'"):
        ps.agent_number("1024")
    assert len(ps.agent_number("1024", strict=False)) == len(zh.agent_number("1024")) - len(zh.audio("yao"))
    with pytest.raises(PromptMissing, match="not in the zh prompt set"):
        ps.audio("no-such-prompt")


def test_bad_prompt_set_directories(tmp_path: Path) -> None:
    from cti.prompts import PromptError

    with pytest.raises(PromptError, match="no manifest"):
        PromptSet.load(tmp_path)
    (tmp_path / "manifest.toml").write_text('[set]\nlanguage = "fr"\n[prompts]\na = { file = "a.wav" }\n')
    with pytest.raises(PromptError, match="language"):
        PromptSet.load(tmp_path)
    (tmp_path / "manifest.toml").write_text("[set\n")
    with pytest.raises(PromptError):
        PromptSet.load(tmp_path)


# ---- TTS -----------------------------------------------------------------------------------------------
@needs_espeak
def test_tts_renders_off_the_loop_and_caches(tmp_path: Path) -> None:
    tts = TtsService(EspeakEngine(), cache_dir=tmp_path / "cache", timeout=20)
    t0 = time.perf_counter()
    job = tts.say("Your balance is twelve yuan", "en-us")
    assert time.perf_counter() - t0 < 0.05               # say() never waits for the engine
    assert job.wait(20) and job.ok and len(job.audio) > 8000
    again = tts.say("Your balance is twelve yuan", "en-us")
    assert again.done and again.cached and again.audio == job.audio
    fresh = TtsService(EspeakEngine(), cache_dir=tmp_path / "cache")      # from the disk cache
    assert fresh.say("Your balance is twelve yuan", "en-us").cached
    zh = tts.say("nin2 hao3", "cmn-latn-pinyin")
    assert zh.wait(20) and zh.ok
    assert tts.stats["rendered"] == 2 and tts.stats["cache_hits"] == 1


@needs_espeak
def test_tts_bad_voice_is_a_clear_error(tmp_path: Path) -> None:
    tts = TtsService(EspeakEngine(), timeout=20)
    job = tts.say("hello", "no-such-voice-xx")
    assert job.wait(20) and not job.ok and "espeak-ng voice 'no-such-voice-xx'" in job.error


def test_tts_engine_that_hangs_times_out() -> None:
    hang = CommandEngine([sys.executable, "-c", "import time; time.sleep(30)"])
    tts = TtsService(hang, timeout=0.5)
    job = tts.say("x", "v")
    t0 = time.monotonic()
    while not job.done:
        time.sleep(0.01)
    assert time.monotonic() - t0 < 3.0 and not job.ok and "did not" in job.error


@pytest.mark.system
def test_in_process_engine_that_hangs_does_not_block_the_next(tmp_path: Path) -> None:
    class Stuck:
        name = "stuck"
        calls = 0

        def version(self) -> str:
            return "1"

        def voices(self) -> list[str]:
            return ["v"]

        def render(self, text: str, voice: str, timeout: float) -> tuple[np.ndarray, int]:
            Stuck.calls += 1
            if text == "hang":
                time.sleep(3.0)
            return np.full(800, 1000, np.int16), 8000

    tts = TtsService(Stuck(), workers=1, timeout=0.3)
    job = tts.say("hang", "v")
    assert job.wait() and "timed out" in job.error
    time.sleep(1.1)
    ok = tts.say("fine", "v")                   # the stuck worker is replaced
    assert ok.wait(2.0) and ok.ok and tts.stats["stuck"] == 1


def test_failing_engine_and_bad_configs() -> None:
    fail = CommandEngine([sys.executable, "-c", "import sys; sys.stderr.write('licence expired'); sys.exit(3)"])
    job = TtsService(fail, timeout=10).say("x", "v")
    assert job.wait(10) and "licence expired" in job.error and "exit 3" in job.error
    garbage = CommandEngine([sys.executable, "-c", "print('not a wav')"])
    job = TtsService(garbage, timeout=10).say("x", "v")
    assert job.wait(10) and "not a WAV" in job.error
    with pytest.raises(TtsError, match="cannot be loaded"):
        make_engine({"engine": "no.such.module:Engine"})
    with pytest.raises(TtsError, match="give 'espeak-ng'"):
        make_engine({"engine": "festival"})
    assert isinstance(make_engine(None), EspeakEngine)


def test_command_engine_writing_a_file(tmp_path: Path) -> None:
    script = tmp_path / "tts.py"
    script.write_text("import sys, numpy as np\n"
                      "from cti.media import wavfile\n"
                      "wavfile.write(sys.argv[1], (np.ones(1600) * 3000).astype(np.int16), fmt=1, rate=16000)\n")
    eng = CommandEngine([sys.executable, str(script), "{out}", "{voice}", "{text}"], voices=["x"])
    job = TtsService(eng, timeout=20).say("hello", "x")
    assert job.wait(20) and job.ok and len(job.audio) == 800          # 16 kHz resampled to 8 kHz
