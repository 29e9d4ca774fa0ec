"""Call-progress classification of one outbound attempt: signalling and what is heard on its
timeslot, whichever tells first.

Evidence comes from two sides:

* signalling (sans-IO calls): :meth:`ProgressClassifier.alerting` (ISUP ACM/CPG, No.1 B1),
  :meth:`~ProgressClassifier.answered_by_signalling` (ANM/CON, No.1 answer signal),
  :meth:`~ProgressClassifier.released` (REL / B2..B5 / a failed seizure, with its Q.850 cause);
* the call-progress tone detector (``_boardcore.tones.CadenceDetector`` events, fed by
  :class:`cti.outbound.listen.AttemptListener`): "ringback", "busy", "congestion", "dial",
  "voice", "silence", "none" through :meth:`~ProgressClassifier.tone`.

Precedence (the first rule that applies decides; the outcome never changes afterwards):

1. a release with a cause decides at once (``outcome_of_cause``: 17 busy, 1/22/28
   unallocated, 18/19 no answer, 34/38/41/42/44 congestion); a cause that names no outcome
   (16 normal clearing, 31, none) takes the tone heard last (busy / congestion / ringback =
   no answer) and is ``failed`` only when nothing was heard;
2. a busy or congestion cadence in band decides at once (the dialler then clears the call):
   the network alerted, or a PBX answered the trunk, but the number is busy; dial tone
   (a PBX that answered and wants an extension: the number is incomplete) is ``failed``;
3. voice held for ``voice_seconds`` is an answer when the signalling answered (voice after
   connect: the PBX's extension or the person picked up) or, on a line without supervision
   (``supervised=False``), when the signalling never said alerting. Voice while the
   signalling says alerting and has not answered is early media (an announcement, a
   coloured ringback tone) and decides nothing. On a supervised line (a trunk that signals
   alerting or answer: SS7, No.1) nothing heard before the first of them counts
   (:meth:`ProgressClassifier.hearing`): No.1 MFC register tones are on the timeslot then;
4. after a signalling answer, ``answer_wait`` seconds without a tone (ringback, busy,
   congestion) and without voice: answered (a silent answer; 0 = trust the answer at once);
   ringback after the answer is a PBX ringing its extension: wait for voice;
5. ``no_answer_timeout`` seconds after the attempt started: no answer (ringback heard, or
   nothing decisive).

Every piece of evidence is kept in :attr:`ProgressClassifier.evidence` (time, what) and
:attr:`~ProgressClassifier.source` says which of "signalling", "tone" or "timer" decided.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .campaign import Outcome

_TONE_OUTCOME = {"busy": Outcome.BUSY, "congestion": Outcome.CONGESTION, "dial": Outcome.FAILED}
#: Tones that are call progress (not voice, not the end of something).
PROGRESS_TONES = ("dial", "busy", "ringback", "congestion")


def outcome_of_cause(cause: int | None) -> Outcome:
    """Q.850 cause of a failed attempt -> campaign outcome (FAILED when it names none)."""
    if cause == 17:
        return Outcome.BUSY
    if cause in (1, 22, 28):
        return Outcome.UNALLOCATED
    if cause in (18, 19):
        return Outcome.NO_ANSWER
    if cause in (34, 38, 41, 42, 44):
        return Outcome.CONGESTION
    return Outcome.FAILED


@dataclass
class ProgressClassifier:
    """One outbound attempt's classifier: feed it signalling, tone events and time; read
    :attr:`outcome` (None while undecided), :attr:`source` and :attr:`evidence`."""

    started: float
    no_answer_timeout: float = 30.0
    voice_seconds: float = 0.6
    answer_wait: float = 0.0
    supervised: bool = False              #: the trunk signals alerting / answer (SS7, No.1)
    outcome: Outcome | None = None
    heard: str = ""                       #: the last tone event name
    source: str = ""                      #: what decided: "signalling", "tone" or "timer"
    decided_at: float | None = None
    evidence: list[tuple[float, str]] = field(default_factory=list)
    alerted_at: float | None = None
    answered_at: float | None = None
    _voice_since: float | None = None
    _ringing_since_answer: bool = False

    def __post_init__(self) -> None:
        for name in ("no_answer_timeout", "voice_seconds", "answer_wait"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1e6:
                raise ValueError(f"ProgressClassifier.{name} must be seconds >= 0, not {v!r}")
        if self.no_answer_timeout <= 0:
            raise ValueError("ProgressClassifier.no_answer_timeout must be > 0")

    # ---- evidence -------------------------------------------------------------------------
    def hearing(self) -> bool:
        """Whether audio counts yet (supervised lines: once the signalling alerted or answered)."""
        return not self.supervised or self.alerted_at is not None or self.answered_at is not None

    def tone(self, name: str, now: float) -> Outcome | None:
        """A ToneEvent name from the cadence detector ("busy", "ringback", "voice", "silence", ...)."""
        if not isinstance(name, str):
            raise TypeError(f"tone name must be a str, not {type(name).__name__}")
        self.evidence.append((now, name))
        if self.outcome is not None:
            return self.outcome
        self.heard = name
        if name in _TONE_OUTCOME:
            return self._decide(_TONE_OUTCOME[name], "tone", now)
        if name == "voice":
            self._voice_since = now if self._voice_since is None else self._voice_since
        else:
            self._voice_since = None
            if name == "ringback" and self.answered_at is not None:
                self._ringing_since_answer = True
        return self.service(now)

    def alerting(self, now: float) -> None:
        """The signalling says the called party is being alerted (ACM / CPG, No.1 B1)."""
        self.evidence.append((now, "signalling:alerting"))
        if self.alerted_at is None:
            self.alerted_at = now

    def answered_by_signalling(self, now: float | None = None) -> Outcome | None:
        """The signalling says answered (ANM / CON, No.1 answer). With ``answer_wait`` 0 (or no
        time given) that decides at once; otherwise in-band evidence has ``answer_wait`` seconds."""
        t = self.started if now is None else now
        self.evidence.append((t, "signalling:answered"))
        if self.answered_at is None:
            self.answered_at = t
        if self.outcome is None and (now is None or self.answer_wait == 0):
            return self._decide(Outcome.ANSWERED, "signalling", t)
        return self.service(t)

    def released(self, cause: int | None, now: float) -> Outcome:
        """The attempt ended in signalling (REL, a B signal, a failed seizure) with ``cause``."""
        self.evidence.append((now, f"signalling:released cause {cause}"))
        if self.outcome is not None:
            return self.outcome
        o = outcome_of_cause(cause)
        if o is not Outcome.FAILED:
            return self._decide(o, "signalling", now)
        last = next((w for _, w in reversed(self.evidence) if w in PROGRESS_TONES), None)
        if last in _TONE_OUTCOME:
            return self._decide(_TONE_OUTCOME[last], "tone", now)
        if last == "ringback":
            return self._decide(Outcome.NO_ANSWER, "tone", now)
        return self._decide(Outcome.FAILED, "signalling", now)

    # ---- time ------------------------------------------------------------------------------
    def service(self, now: float) -> Outcome | None:
        """Apply the time rules (voice held, answer wait, no-answer timeout) at ``now``."""
        if self.outcome is not None:
            return self.outcome
        voice_counts = self.answered_at is not None or (not self.supervised and self.alerted_at is None)
        if (self._voice_since is not None and voice_counts
                and now - max(self._voice_since, self.answered_at or self._voice_since) >= self.voice_seconds):
            return self._decide(Outcome.ANSWERED, "tone", now)
        if (self.answered_at is not None and not self._ringing_since_answer and self._voice_since is None
                and now - self.answered_at >= self.answer_wait):
            return self._decide(Outcome.ANSWERED, "signalling", now)
        if now - self.started >= self.no_answer_timeout:
            return self._decide(Outcome.NO_ANSWER, "timer", now)
        return None

    def next_deadline(self) -> float | None:
        """When :meth:`service` may next decide something by time alone (None once decided)."""
        if self.outcome is not None:
            return None
        times = [self.started + self.no_answer_timeout]
        if self._voice_since is not None:
            times.append(max(self._voice_since, self.answered_at or self._voice_since) + self.voice_seconds)
        if self.answered_at is not None:
            times.append(self.answered_at + self.answer_wait)
        return min(times)

    # ---- results ---------------------------------------------------------------------------
    def heard_tones(self) -> list[str]:
        """What the detector reported, each name once in the order first heard ("voice (early)"
        for voice before a signalling answer on an alerting line)."""
        out: list[str] = []
        for t, w in self.evidence:
            if w.startswith("signalling:") or w in ("silence", "none"):
                continue
            if w == "voice" and self.alerted_at is not None and (self.answered_at is None or t < self.answered_at):
                w = "voice (early)"
            if w not in out:
                out.append(w)
        return out

    def _decide(self, outcome: Outcome, source: str, now: float) -> Outcome:
        self.outcome, self.source, self.decided_at = outcome, source, now
        return outcome
