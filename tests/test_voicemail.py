"""Voicemail: greeting, beep, recording ended by #, length, silence, hang-up; storage; bad input."""
from __future__ import annotations

import errno
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from _boardcore import g711
from cti.ivr.resources import ResourceExhausted, ResourcePools
from cti.media import wavfile
from cti.voicemail.messages import MessageError, MessageStore
from cti.voicemail.recorder import MessageRecording, MessageSpec, Phase, level_dbm0
from cti.voicemail.service import HangupAfter, VoicemailError, VoicemailFailed, VoicemailLeft, VoicemailService

SIL = b"\xd5" * 160


def voice(hz: float = 440.0, n: int = 160, amp: int = 6000, phase: int = 0) -> bytes:
    t = np.arange(phase, phase + n)
    return bytes(g711.alaw_encode((amp * np.sin(2 * np.pi * hz * t / 8000)).astype(np.int16)))


class Line:
    """A caller's timeslot: what the service wrote to it, per circuit."""

    def __init__(self) -> None:
        self.sent: dict[tuple[int, int], bytearray] = {}

    def write(self, circuit: tuple[int, int], alaw: bytes) -> None:
        self.sent.setdefault(circuit, bytearray()).extend(alaw)


def run(vm: VoicemailService, circuit: tuple[int, int], blocks: list[bytes], t0: float = 0.0) -> tuple[list[Any], float]:
    events: list[Any] = []
    t = t0
    for b in blocks:
        vm.audio(circuit, b, t)
        events += vm.tick(t)
        t += 0.02
    return events, t


@pytest.fixture
def vm(tmp_path: Path) -> tuple[VoicemailService, Line]:
    line = Line()
    return VoicemailService(line.write, MessageStore(tmp_path / "m.sqlite"), tmp_path / "vm",
                            pools=ResourcePools({"voice": 2}),
                            spec=MessageSpec(max_seconds=10, silence_seconds=2, min_seconds=0.5)), line


def test_level_of_silence_and_a_tone() -> None:
    assert level_dbm0(SIL) < -60
    assert -10 < level_dbm0(voice(amp=12000)) < 0


def test_message_ended_by_hash_is_kept_with_metadata(vm: tuple[VoicemailService, Line]) -> None:
    svc, line = vm
    svc.leave("c1", (0, 5), box="sales", caller="13800138000", greeting=voice(880, 800))
    ev, t = run(svc, (0, 5), [SIL] * 40)                          # greeting + beep play
    assert svc.legs["c1"].rec.phase is Phase.RECORDING
    assert len(line.sent[(0, 5)]) >= 800 + 3200                    # greeting then a 400 ms beep
    ev2, t = run(svc, (0, 5), [voice(440, phase=i * 160) for i in range(100)], t)     # 2 s of speech
    svc.digit("c1", "#", t)
    ev3, t = run(svc, (0, 5), [SIL] * 2, t)
    (left,) = [e for e in ev + ev2 + ev3 if isinstance(e, VoicemailLeft)]
    assert (left.call, left.box, left.caller, left.reason) == ("c1", "sales", "13800138000", "terminator")
    assert 2.2 <= left.seconds <= 2.4                              # 0.3 s before the caller spoke, 2 s of speech
    info, pcm = wavfile.read_info_and_pcm(left.path)
    assert (info.format, info.rate, info.channels) == (wavfile.FORMAT_ALAW, 8000, 1)
    assert abs(len(pcm) - 18400) <= 160
    (m,) = svc.list(box="sales")
    assert m.id == left.id and m.status == "new" and m.meta["seconds"] == left.seconds
    assert svc.waiting() == {"sales": 1}
    svc.mark(left.id)
    assert svc.waiting() == {} and svc.store.get(left.id).status == "handled"
    assert svc.pools is not None and svc.pools.usage()["voice"]["busy"] == 0


def test_pcm_format_opens_with_python_wave(tmp_path: Path) -> None:
    line = Line()
    svc = VoicemailService(line.write, MessageStore(":memory:"), tmp_path, spec=MessageSpec(pcm=True, min_seconds=0.5))
    svc.leave("c", (0, 1), greeting=b"")
    ev, t = run(svc, (0, 1), [SIL] * 25 + [voice(phase=i * 160) for i in range(60)])
    ev += svc.hangup("c", t)
    (left,) = [e for e in ev if isinstance(e, VoicemailLeft)]
    with wave.open(left.path) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, 8000, 2)
        assert w.getnframes() == (5 + 60) * 160          # after the 400 ms beep: 5 silent blocks, then speech
    assert left.reason == "hangup"


def test_silence_ends_the_message_and_is_cut(vm: tuple[VoicemailService, Line]) -> None:
    svc, _ = vm
    svc.leave("c1", (0, 5), greeting=b"")
    ev, t = run(svc, (0, 5), [SIL] * 25 + [voice(phase=i * 160) for i in range(50)] + [SIL] * 150)
    (left,) = [e for e in ev if isinstance(e, VoicemailLeft)]
    assert left.reason == "silence" and left.seconds == pytest.approx(1.1, abs=0.03)   # trailing 2 s cut
    assert any(isinstance(e, HangupAfter) for e in ev)


def test_max_length(vm: tuple[VoicemailService, Line]) -> None:
    svc, _ = vm
    svc.leave("c1", (0, 5), greeting=b"")
    ev, _ = run(svc, (0, 5), [SIL] * 25 + [voice(phase=i * 160) for i in range(600)])
    (left,) = [e for e in ev if isinstance(e, VoicemailLeft)]
    assert left.reason == "max-length" and left.seconds == 10.0


def test_hang_up_at_the_beep_leaves_nothing(vm: tuple[VoicemailService, Line]) -> None:
    svc, _ = vm
    svc.leave("c1", (0, 5), greeting=voice(880, 1600))
    ev, t = run(svc, (0, 5), [SIL] * 5)
    ev += svc.hangup("c1", t)
    (failed,) = [e for e in ev if isinstance(e, VoicemailFailed)]
    assert failed.reason == "too-short" and not svc.list()
    assert not list((svc.directory).rglob("*.wav")) and not svc.legs


def test_a_digit_skips_the_greeting(vm: tuple[VoicemailService, Line]) -> None:
    svc, _ = vm
    svc.leave("c1", (0, 5), greeting=voice(880, 8000 * 5))
    run(svc, (0, 5), [SIL] * 3)
    svc.digit("c1", "5", 0.06)
    assert svc.legs["c1"].rec.phase is Phase.BEEP


def test_disk_full_while_recording_ends_cleanly(vm: tuple[VoicemailService, Line], monkeypatch: pytest.MonkeyPatch) -> None:
    svc, line = vm
    svc.prompts = None
    svc.leave("c1", (0, 5), greeting=b"")
    ev, t = run(svc, (0, 5), [SIL] * 25 + [voice(phase=i * 160) for i in range(10)])
    writer = svc.legs["c1"].rec._writer
    assert writer is not None

    def full(*_a: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(writer, "write_frames", full)
    ev2, t = run(svc, (0, 5), [voice()] * 3, t)
    (failed,) = [e for e in ev2 if isinstance(e, VoicemailFailed)]
    assert failed.reason == "error" and "No space left on device" in failed.error
    assert any(isinstance(e, HangupAfter) for e in ev2) and not svc.legs and not svc.list()
    assert not list(Path(svc.directory).rglob("*.wav"))           # the partial file is removed
    assert svc.pools is not None and svc.pools.usage()["voice"]["busy"] == 0
    # the service goes on: another caller records normally
    svc.leave("c2", (0, 6), greeting=b"")
    ev3, t = run(svc, (0, 6), [SIL] * 25 + [voice(phase=i * 160) for i in range(60)], t)
    ev3 += svc.hangup("c2", t)
    assert [type(e).__name__ for e in ev3 if isinstance(e, VoicemailLeft)] == ["VoicemailLeft"]


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rec = MessageRecording(blocker / "sub" / "m.wav", MessageSpec(min_seconds=0.5))
    rec.play(0.0)
    while rec.phase is Phase.BEEP:
        rec.play(0.0)
    assert rec.done and rec.result is not None and rec.result.reason == "error"
    assert "cannot write" in rec.result.error


def test_voice_pool_full_gives_busy_treatment_and_event(vm: tuple[VoicemailService, Line]) -> None:
    svc, _ = vm
    class Busy:
        def compose(self, names: list[str], strict: bool = True) -> bytes:
            return voice(300, 1600) if names == ["busy"] else b""
    svc.prompts = Busy()
    svc.leave("a", (0, 1), greeting=b"")
    svc.leave("b", (0, 2), greeting=b"")
    with pytest.raises(VoicemailError, match="no voice resource free") as exc:
        svc.leave("c", (0, 3), greeting=b"")
    assert isinstance(exc.value.event, ResourceExhausted) and exc.value.event.kind == "voice"
    assert exc.value.event.to_dict()["treatment"] == "busy prompt"
    assert (0, 3) in svc.playbacks                  # the caller hears the busy prompt (when the set has one)
    with pytest.raises(VoicemailError, match="already"):
        svc.leave("a", (0, 1))


def test_play_to_a_station_and_unknown_message(vm: tuple[VoicemailService, Line]) -> None:
    svc, line = vm
    svc.leave("c1", (0, 5), greeting=b"")
    ev, t = run(svc, (0, 5), [SIL] * 25 + [voice(440, phase=i * 160) for i in range(50)])
    ev += svc.hangup("c1", t)
    (left,) = [e for e in ev if isinstance(e, VoicemailLeft)]
    seconds = svc.play(left.id, (2, 1))
    assert seconds == pytest.approx(1.1, abs=0.03)            # 0.1 s after the beep, 1 s of speech
    for _ in range(60):
        svc.tick(t)
    heard = g711.alaw_decode(np.frombuffer(bytes(line.sent[(2, 1)]), np.uint8))
    spec = np.abs(np.fft.rfft(heard[:4000].astype(float)))
    assert abs(np.argmax(spec) * 8000 / 4000 - 440) < 5
    with pytest.raises(MessageError, match="no message 999"):
        svc.play(999, (2, 1))
    with pytest.raises(MessageError, match="unknown status"):
        svc.mark(left.id, "deleted-by-nobody")


def test_spec_checks() -> None:
    with pytest.raises(ValueError, match="max_seconds"):
        MessageSpec(max_seconds=0)
    with pytest.raises(ValueError, match="terminator"):
        MessageSpec(terminator="x")
