"""The contact centre's part of the bus schema (events and requests), as data and as the file
docs/schema/contact-schema.json (regenerate: ``python3 -m cti.contact.schema > docs/schema/contact-schema.json``;
a test checks the file matches the code). Same versioning rules as docs/bus.md.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from cti.bus.schema import SCHEMA_MAJOR, SCHEMA_MINOR, event_doc, request_doc

from .events import CONTACT_EVENTS
from .requests import CONTACT_REQUESTS


def schema() -> dict[str, Any]:
    return {
        "version": f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}",
        "events": {name: event_doc(cls) for name, cls in sorted(CONTACT_EVENTS.items())},
        "requests": {cls.__name__: request_doc(cls) for cls in sorted(CONTACT_REQUESTS, key=lambda c: c.__name__)},
    }


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
