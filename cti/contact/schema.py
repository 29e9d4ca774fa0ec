"""The contact centre's part of the bus schema (events and requests), as data and as the file
docs/schema/contact-schema.json (regenerate: ``python3 -m cti.contact.schema > docs/schema/contact-schema.json``;
a test checks the file matches the code). Same versioning rules as docs/bus.md.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

from cti.bus.schema import SCHEMA_MAJOR, SCHEMA_MINOR

from .events import CONTACT_EVENTS
from .requests import CONTACT_REQUESTS


def _fields(cls: type) -> dict[str, dict[str, Any]]:
    out = {}
    for f in dataclasses.fields(cls):
        d: dict[str, Any] = {"type": str(f.type)}
        if f.default is not dataclasses.MISSING:
            d["default"] = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            d["default"] = f.default_factory()  # type: ignore[misc]
        else:
            d["required"] = True
        out[f.name] = d
    return out


def schema() -> dict[str, Any]:
    return {
        "version": f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}",
        "events": {name: {"topic": cls.TOPIC + ".*", "doc": (cls.__doc__ or "").strip(), "fields": _fields(cls)}
                   for name, cls in sorted(CONTACT_EVENTS.items())},
        "requests": {cls.__name__: {"doc": (cls.__doc__ or "").strip(), "fields": _fields(cls),
                                    "result": list(getattr(cls, "RESULT", ()))}
                     for cls in sorted(CONTACT_REQUESTS, key=lambda c: c.__name__)},
    }


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
