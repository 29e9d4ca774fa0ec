"""The media resources' part of the bus schema (events and requests), as data and as the file
docs/schema/media-schema.json (regenerate: ``python3 -m cti.contact.media_schema > docs/schema/media-schema.json``;
a test checks the file matches the code). Same versioning rules as docs/bus.md.

Events are published as maps with a ``topic`` (``media.fax``, ``media.voicemail``,
``media.pool``, ``media.tts``); those with a class are documented from its fields, the others
from the table below.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from cti.bus.schema import SCHEMA_MAJOR, SCHEMA_MINOR, fields_doc, request_doc
from cti.fax.runner import FaxReceived
from cti.fax.session import FaxCompleted, FaxPage, FaxStarted
from cti.ivr.resources import ResourceExhausted
from cti.voicemail.service import VoicemailFailed, VoicemailLeft

from .media_requests import MEDIA_REQUESTS

_CLASSES: dict[str, tuple[str, type]] = {
    "FaxStarted": ("media.fax", FaxStarted), "FaxPage": ("media.fax", FaxPage),
    "FaxCompleted": ("media.fax", FaxCompleted), "FaxReceived": ("media.fax", FaxReceived),
    "VoicemailLeft": ("media.voicemail", VoicemailLeft), "VoicemailFailed": ("media.voicemail", VoicemailFailed),
    "ResourceExhausted": ("media.pool", ResourceExhausted),
}

_MAPS: dict[str, dict[str, Any]] = {
    "ResourceUsage": {"topic": "media.pool", "doc": "Pool usage (every stats_every s and when a pool's busy count "
                      "changes): the wallboard's and the statistics' figures.",
                      "fields": {"pools": {"type": "dict: kind -> {size, busy, free, peak, taken, refused}"},
                                 "counters": {"type": "dict: fax_sent, fax_received, fax_failed, voicemail, tts_failed"},
                                 "waiting": {"type": "dict: box -> unhandled voicemail messages"},
                                 "tts": {"type": "dict: rendered, cache_hits, failed, timed_out, stuck"}}},
    "MessageHandled": {"topic": "media.voicemail | media.fax", "doc": "A message's status changed (MarkMessage, CallBack).",
                       "fields": {"id": {"type": "int"}, "kind": {"type": "str"}, "box": {"type": "str"},
                                  "status": {"type": "str"}, "by": {"type": "str: the account"}}},
    "CallBackPlaced": {"topic": "media.voicemail", "doc": "The dialler placed a CallBack from the asking agent's device.",
                       "fields": {"id": {"type": "int"}, "number": {"type": "str"}, "device": {"type": "str"},
                                  "call": {"type": "str"}, "by": {"type": "str: the account"}}},
    "CallBackWaiting": {"topic": "media.voicemail", "doc": "A CallBack waits: outside the number's calling hours "
                        "(until ``at``) or the agent is not Ready.",
                        "fields": {"id": {"type": "int"}, "number": {"type": "str"}, "device": {"type": "str"},
                                   "reason": {"type": "str: calling hours | agent not ready"},
                                   "at": {"type": "float: UNIX time it may be dialled"}, "by": {"type": "str"}}},
    "CallBackRefused": {"topic": "media.voicemail", "doc": "A CallBack is refused: the number is on the do-not-call "
                        "list (or the list cannot be read, or it is not a number); it is never dialled.",
                        "fields": {"id": {"type": "int"}, "number": {"type": "str"}, "device": {"type": "str"},
                                   "reason": {"type": "str"}, "by": {"type": "str"}}},
    "TtsFailed": {"topic": "media.tts", "doc": "A spoken prompt could not be rendered (the menu went on without it).",
                  "fields": {"call": {"type": "str"}, "error": {"type": "str"}}},
    "FaxCampaignProgress": {"topic": "media.fax", "doc": "One number of a fax campaign tried.",
                            "fields": {"campaign": {"type": "str"}, "number": {"type": "str"}, "call": {"type": "str"},
                                       "attempt": {"type": "int"}, "ok": {"type": "bool"},
                                       "result": {"type": "int: T.30 code, -1 not reached"},
                                       "reason": {"type": "str"}, "pages": {"type": "int"},
                                       "retry": {"type": "bool"}, "summary": {"type": "dict"}}},
    "FaxCampaignEnded": {"topic": "media.fax", "doc": "Every number of a fax campaign is done.",
                         "fields": {"campaign": {"type": "str"}, "summary": {"type": "dict"},
                                    "results": {"type": "dict: number -> {ok, result, reason, pages, attempts}"}}},
}


def schema() -> dict[str, Any]:
    events = {name: {"topic": topic, "doc": (cls.__doc__ or "").strip(), "fields": fields_doc(cls)}
              for name, (topic, cls) in _CLASSES.items()}
    events.update(_MAPS)
    return {
        "version": f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}",
        "events": dict(sorted(events.items())),
        "requests": {cls.__name__: request_doc(cls) for cls in sorted(MEDIA_REQUESTS, key=lambda c: c.__name__)},
    }


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
