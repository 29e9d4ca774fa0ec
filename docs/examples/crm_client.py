"""A tiny CRM integration: screen-pop the caller's record when a call rings at a device.

The pop follows CSTA: ``Delivered`` is reported once for the device that rings -- the called
extension, or the agent's device when the ACD offers a queued call (the route point only
reports ``Queued`` and ``Diverted``) -- so each pop names the agent who sees it. The call's user
data (IVR digits, what a CRM attached with AttachUserData) is shown with the record.

It follows the CTI bus from where it left off (the last seq is kept in a state file), so a
restart loses and repeats nothing, and looks the calling number up in a CSV "CRM". If the
server itself crashed, the events it published but could not journal are gone: it says so
with a JournalGap event, which this client logs (a declared gap) before going on; a gap
nobody declared is reported as an error (exit status 3 with --strict).

    python3 docs/examples/crm_client.py --crm docs/examples/crm.csv --state crm.seq
    python3 docs/examples/crm_client.py --key keys/crm.key_secret --server-key keys/server.key
"""
from __future__ import annotations

import argparse
import csv
import os
import sys

from cti.bus.client import BusClient, ClientKeys
from cti.bus.server import Endpoints


def load_crm(path: str) -> dict[str, dict[str, str]]:
    """CSV rows by the ``number`` column."""
    with open(path, newline="") as f:
        return {row["number"]: row for row in csv.DictReader(f)}


def pops(event: dict) -> bool:
    """Is ``event`` one to pop a screen for: an incoming call ringing at one of our devices?"""
    return (event.get("type") == "Delivered" and event.get("direction") == "in"
            and not str(event.get("device", "")).startswith("trunk/"))


def screen_pop(event: dict, crm: dict[str, dict[str, str]]) -> str:
    """The line an agent desktop would pop for a Delivered event."""
    who = crm.get(event.get("calling") or "")
    caller = f"{who['name']} ({who['company']}, account {who['account']})" if who else "unknown caller"
    note = f" - {who['notes']}" if who and who.get("notes") else ""
    data = event.get("user_data") or {}
    attached = (" [" + ", ".join(f"{k}={v}" for k, v in sorted(data.items())) + "]") if data else ""
    return (f"[{event['seq']}] call {event['call']} for {event['device']} from "
            f"{event.get('calling') or 'withheld'}: {caller}{note}{attached}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--crm", default=os.path.join(os.path.dirname(__file__), "crm.csv"))
    p.add_argument("--state", default="crm.seq", help="file keeping the last processed seq")
    p.add_argument("--events", default="tcp://127.0.0.1:5560")
    p.add_argument("--snapshot", default="tcp://127.0.0.1:5561")
    p.add_argument("--control", default="tcp://127.0.0.1:5562")
    p.add_argument("--key", help="CURVE secret key file of this account")
    p.add_argument("--server-key", help="the server's public key file")
    p.add_argument("--idle", type=float, default=0.0, help="exit after this many quiet seconds (0: never)")
    p.add_argument("--strict", action="store_true", help="exit (status 3) on a gap the server did not declare")
    args = p.parse_args(argv)

    crm = load_crm(args.crm)
    after, epoch = 0, None          # the state file: "<last seq> <journal epoch>"
    if os.path.exists(args.state):
        with open(args.state) as f:
            saved = f.read().split()
        after, epoch = int(saved[0]) if saved else 0, saved[1] if len(saved) > 1 else None
    keys = ClientKeys(args.key, args.server_key) if args.key and args.server_key else None
    with BusClient(Endpoints(args.events, args.snapshot, args.control), keys=keys) as client:
        # resume exactly after `after`; server.journal_gap: the server's own word on lost seqs
        # (a server whose journal has another epoch was reset: the client resyncs by snapshot)
        sub = client.subscribe(after=after, topics=("call.", "server.journal_gap"), epoch=epoch)
        reported = 0
        while True:
            event = sub.get(timeout=args.idle or 1.0)
            for first, last in sub.undeclared[reported:]:
                print(f"ERROR: seqs {first}..{last} are missing and the server did not declare them",
                      file=sys.stderr, flush=True)
                if args.strict:
                    return 3
            reported = len(sub.undeclared)
            if event is None:
                if args.idle:
                    return 0
                continue
            if event["type"] == "JournalGap":
                print(f"declared gap: seqs {event['first']}..{event['last']} were lost in a server crash "
                      "(published or not, never replayable); continuing", file=sys.stderr, flush=True)
            elif pops(event):
                print(screen_pop(event, crm), flush=True)
            with open(args.state + ".tmp", "w") as f:                # remember progress atomically
                f.write(f"{event['seq']} {event.get('epoch') or sub.epoch or ''}".strip())
            os.replace(args.state + ".tmp", args.state)


if __name__ == "__main__":
    sys.exit(main())
