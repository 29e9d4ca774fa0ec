"""Call-progress classification of an outbound call from what is heard on its timeslot.

Signalling tells us answer and most failures (ISUP ACM/ANM/REL causes, No.1 B signals).
Where it does not (a PBX that answers at once, a network that plays tones in band), the
call-progress tone detector (``_boardcore.tones.CadenceDetector``) decides:

* busy or congestion cadence -> BUSY / CONGESTION;
* ringback cadence then no voice before the no-answer timeout -> NO_ANSWER;
* speech (voice energy that is no known tone) for ``voice_seconds`` -> ANSWERED.
"""
from __future__ import annotations

from dataclasses import dataclass

from .campaign import Outcome

_TONE_OUTCOME = {"busy": Outcome.BUSY, "congestion": Outcome.CONGESTION}


@dataclass
class ProgressClassifier:
    """One outbound call's classifier; feed it tone events and time, read ``outcome``."""

    started: float
    no_answer_timeout: float = 30.0
    voice_seconds: float = 0.6
    outcome: Outcome | None = None
    _voice_since: float | None = None
    heard: str = ""

    def tone(self, name: str, now: float) -> Outcome | None:
        """A ToneEvent name from the cadence detector ("busy", "ringback", "voice", "silence", ...)."""
        if self.outcome is not None:
            return self.outcome
        self.heard = name
        if name in _TONE_OUTCOME:
            self.outcome = _TONE_OUTCOME[name]
        elif name == "voice":
            self._voice_since = now if self._voice_since is None else self._voice_since
        else:
            self._voice_since = None
        return self.service(now)

    def answered_by_signalling(self) -> Outcome:
        self.outcome = self.outcome or Outcome.ANSWERED
        return self.outcome

    def service(self, now: float) -> Outcome | None:
        if self.outcome is None:
            if self._voice_since is not None and now - self._voice_since >= self.voice_seconds:
                self.outcome = Outcome.ANSWERED
            elif now - self.started >= self.no_answer_timeout:
                self.outcome = Outcome.NO_ANSWER
        return self.outcome
