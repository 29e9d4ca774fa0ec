"""The baseline row of the AMD benchmark: Asterisk's app_amd algorithm, reimplemented here from
its published description (the AMD() application's documentation and the sample amd.conf):
20 ms frames are silence when their average magnitude is under ``silence_threshold`` (256 of
16-bit PCM); a word is ``min_word_length`` ms of consecutive voice and ends after
``between_words_silence`` ms of silence. Verdicts, the first that applies:

* MACHINE/INITIALSILENCE: ``initial_silence`` ms of silence before the greeting began;
* HUMAN: ``after_greeting_silence`` ms of silence after the greeting began;
* MACHINE/MAXWORDS: the ``maximum_number_of_words``-th word begins;
* MACHINE/MAXWORDLENGTH: a word longer than ``maximum_word_length`` ms;
* MACHINE/LONGGREETING: ``greeting`` ms of voice in the greeting;
* NOTSURE/TOOLONG: ``total_analysis_time`` ms without a verdict.

It has no beep detection and no adaptive noise floor.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: amd.conf sample defaults (milliseconds; the threshold is an average magnitude).
ASTERISK_DEFAULTS: dict[str, int] = {
    "initial_silence": 2500, "greeting": 1500, "after_greeting_silence": 800, "total_analysis_time": 5000,
    "min_word_length": 100, "between_words_silence": 50, "maximum_number_of_words": 2,
    "silence_threshold": 256, "maximum_word_length": 5000,
}
FRAME = 160          # 20 ms at 8 kHz


@dataclass(frozen=True)
class Verdict:
    kind: str        #: human, machine or unknown (NOTSURE)
    at: float        #: ms from the start
    reason: str


def asterisk_amd(pcm: np.ndarray, **kw: Any) -> Verdict:
    """Asterisk app_amd's verdict on ``pcm`` (int16, 8 kHz)."""
    p = {**ASTERISK_DEFAULTS, **kw}
    x = np.asarray(pcm, dtype=np.int16).astype(np.int32)
    silence = voice = consecutive = words = t = 0
    in_initial, in_greeting, in_word = True, False, False
    for i in range(0, x.size - FRAME + 1, FRAME):
        t += 20
        if float(np.mean(np.abs(x[i:i + FRAME]))) < p["silence_threshold"]:
            silence += 20
            if silence >= p["between_words_silence"]:
                in_word, consecutive = False, 0
            if in_initial and silence >= p["initial_silence"]:
                return Verdict("machine", t, "INITIALSILENCE")
            if in_greeting and silence >= p["after_greeting_silence"]:
                return Verdict("human", t, "HUMAN")
        else:
            consecutive += 20
            voice += 20
            if consecutive >= p["min_word_length"] and not in_word:
                words += 1
                in_word = True
                if words >= p["maximum_number_of_words"]:
                    return Verdict("machine", t, "MAXWORDS")
            if consecutive >= p["maximum_word_length"]:
                return Verdict("machine", t, "MAXWORDLENGTH")
            if in_greeting and voice >= p["greeting"]:
                return Verdict("machine", t, "LONGGREETING")
            if voice >= p["min_word_length"]:
                silence = 0
            if consecutive >= p["min_word_length"] and not in_greeting:
                in_initial, in_greeting = False, True
        if t >= p["total_analysis_time"]:
            return Verdict("unknown", t, "TOOLONG")
    return Verdict("unknown", t, "TOOLONG")
