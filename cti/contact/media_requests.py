"""Bus requests of the media resources (fax, voicemail, TTS, pools). They join the schema when
the media resources are installed (:func:`register`), like the contact centre's."""
from __future__ import annotations

from dataclasses import dataclass

from cti.bus.schema import register_request


@dataclass(frozen=True, slots=True)
class SendFax:
    """Fax ``document`` (a ``[media.fax] documents`` name, or a TIFF/PDF path on the server) on
    ``call`` (fax-on-demand, the caller's machine receives), or dial ``number`` from ``device``
    and fax it when answered."""

    document: str
    call: str | None = None
    number: str | None = None
    device: str = "fax"
    RESULT = ("call", "pages")


@dataclass(frozen=True, slots=True)
class ReceiveFax:
    """Receive a fax on ``call`` (answered first if it rings) into the inbox of ``box``."""

    call: str
    box: str = ""
    RESULT = ("call",)


@dataclass(frozen=True, slots=True)
class LeaveVoicemail:
    """Let the caller on ``call`` leave a message for ``box`` (greeting, beep, record)."""

    call: str
    box: str = ""
    RESULT = ("call", "box")


@dataclass(frozen=True, slots=True)
class ListMessages:
    """Voicemail messages or received faxes (``kind``), newest first, of ``box`` / ``status``."""

    kind: str = "voicemail"
    box: str | None = None
    status: str | None = None
    limit: int = 50
    RESULT = ("messages",)


@dataclass(frozen=True, slots=True)
class GetMessage:
    """One message or fax with its metadata; ``content`` adds the file's bytes (WAV / TIFF)."""

    id: int
    content: bool = False
    RESULT = ("message", "content")


@dataclass(frozen=True, slots=True)
class PlayMessage:
    """Play voicemail message ``id`` to ``device``'s station."""

    id: int
    device: str
    RESULT = ("id", "seconds")


@dataclass(frozen=True, slots=True)
class MarkMessage:
    """Set a message's status: ``handled`` (or back to ``new``)."""

    id: int
    status: str = "handled"
    RESULT = ("id", "status")


@dataclass(frozen=True, slots=True)
class CallBack:
    """Call the caller of message ``id`` back from ``device`` through the outbound dialler and its
    calling rules: ``status`` placed (``call``) or waiting (``reason``, ``at``); refused (InvalidState)
    on the do-not-call list. The message is marked handled once the call is placed."""

    id: int
    device: str
    RESULT = ("id", "call", "status")


@dataclass(frozen=True, slots=True)
class Say:
    """Speak ``text`` to the caller on ``call`` with the TTS engine (``voice``: default Mandarin)."""

    call: str
    text: str
    voice: str | None = None
    RESULT = ("call", "cached")


@dataclass(frozen=True, slots=True)
class GetResources:
    """The fax and voice pools: size, busy, free, peak, refused."""

    RESULT = ("pools",)


@dataclass(frozen=True, slots=True)
class StartFaxCampaign:
    """Fax ``document`` to every number of ``numbers`` from ``device``, ``concurrency`` at a time
    (and within the fax pool), each failed number tried again ``retries`` times after ``retry_after`` s."""

    name: str
    document: str
    numbers: list[str]
    device: str = "fax"
    concurrency: int = 2
    retries: int = 1
    retry_after: float = 60.0
    RESULT = ("campaign", "numbers")


MEDIA_REQUESTS = (SendFax, ReceiveFax, LeaveVoicemail, ListMessages, GetMessage, PlayMessage, MarkMessage,
                  CallBack, Say, GetResources, StartFaxCampaign)


def register() -> None:
    for cls in MEDIA_REQUESTS:
        register_request(cls)

