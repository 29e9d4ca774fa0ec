"""Takeover of a network-attached card: one node drives it at a time, a standby takes it over.

A card reached over the wire protocol (``board.driver = "wire"``: a ``cti-sim serve``, or a
vendor's card on the network) can be reached by every node, so the nodes agree which one
drives it: the holder of the lease ``card:<url>`` in the centre's database (:mod:`.lease`).
A node started with ``python -m cti.cli.cluster serve -c site.toml`` waits for that lease before it
opens the card; once it holds it, it builds and runs its cti-server as ``cti-server`` would,
and a thread renews the lease every ``ttl / 3`` seconds.

When the owner dies (kill -9, power, a partition) its lease lapses after ``ttl`` seconds and a
standby takes it, opens the card and starts its stacks, which reset every circuit towards the
network as any start does: SS7 sends GRS for its circuit groups and brings circuits back as
the exchange acknowledges (Q.764 2.9.3), PRI sends RESTART of the interface
(``restart_at_start``, set for a card's owner, Q.931 5.5), No.1 puts every circuit to idle
line signals, which the
exchange takes as clear-forward of what the dead owner held (Q.421/Q.422). Calls the dead node
had are lost with it; the new owner publishes its own ServerStarted / ServerReady and the
state of the card on its bus and the cluster stream, and new calls flow.

Fencing: an owner that cannot renew fences itself: when ``ttl / 2`` passes without a
successful renewal (the database unreachable, the process paused and woken) it exits at once
(status 75) before a standby can have the lease. The card can fence it too: :func:`fence`
makes the site's wire board claim its spans with the lease epoch (the wire protocol's OWNER),
after which the card closes an older owner's connection and refuses its reconnection; ``serve``
claims the card so as soon as it holds the lease, before it opens the board.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from .lease import Lease

log = logging.getLogger("cti.cluster.card")

#: exit status of an owner that lost its card's lease (EX_TEMPFAIL: a supervisor restarts it as standby)
LOST = 75


def lease_name(url: str) -> str:
    return f"card:{url}"


class CardLease:
    """The lease of card ``url`` for ``node`` in the centre database ``db`` (see the module docstring)."""

    def __init__(self, db: str, url: str, node: str, ttl: float = 3.0,
                 on_lost: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.url = url
        self.node = node
        self.ttl = ttl
        self.on_lost = on_lost or _exit
        self.lease: Lease | None = None
        self.renewed = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _connect(self) -> Any:
        import psycopg

        from .centre import create
        conn = psycopg.connect(self.db, connect_timeout=max(1, int(self.ttl)))
        create(conn)
        return conn

    def wait(self, stop: Callable[[], bool] = lambda: False, poll: float | None = None) -> bool:
        """Block until this node holds the lease (True), or ``stop()`` (False)."""
        poll = self.ttl / 6 if poll is None else poll
        while not stop():
            try:
                if self.lease is None:
                    self.lease = Lease(self._connect(), lease_name(self.url), self.node, self.ttl)
                if self.lease.acquire():
                    self.renewed = time.monotonic()
                    return True
            except Exception as e:      # the database away: a standby keeps waiting
                log.warning("card %s: lease: %s", self.url, e)
                self._drop()
            time.sleep(poll)
        return False

    @property
    def epoch(self) -> int | None:
        return None if self.lease is None else self.lease.epoch

    def keep(self) -> CardLease:
        """Renew on a thread of its own; call ``on_lost`` once the lease cannot be kept."""
        self._thread = threading.Thread(target=self._keep, name="card-lease", daemon=True)
        self._thread.start()
        return self

    def _keep(self) -> None:
        while not self._stop.wait(self.ttl / 6):
            if time.monotonic() - self.renewed > self.ttl / 2:
                self.on_lost(f"no renewal for {time.monotonic() - self.renewed:.1f} s")
                return
            try:
                if self.lease is None:         # reconnected: take it again (same holder) if still ours
                    self.lease = Lease(self._connect(), lease_name(self.url), self.node, self.ttl)
                    ok = self.lease.acquire()
                else:
                    ok = self.lease.renew()
                if ok:
                    self.renewed = time.monotonic()
                elif self.lease.epoch is None:
                    self.on_lost("the lease was taken")
                    return
            except Exception as e:
                log.warning("card %s: renewal: %s", self.url, e)
                self._drop()

    def _drop(self) -> None:
        if self.lease is not None:
            try:
                self.lease.conn.close()
            except Exception:
                pass
        self.lease = None

    def release(self) -> None:
        """A clean stop: give the card up at once (the standby need not wait for expiry)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.ttl)
        if self.lease is not None:
            try:
                self.lease.release()
            except Exception:
                pass
            self._drop()


def for_site(cfg: Any) -> CardLease:
    """The card lease a site (a :class:`cti.config.Config`) asks for; ValueError naming what is
    missing (a ``[cluster]`` with ``centre``, a wire board with its ``url``). Its PRI trunks get
    ``restart_at_start`` (unless the site says otherwise): every start of a card's owner is a
    takeover."""
    from .config import ClusterConfig, check_node
    if cfg.cluster is None:
        raise ValueError("card takeover needs a [cluster] section with centre = \"postgresql://...\"")
    cc = ClusterConfig.from_dict(cfg.cluster)
    check_node(cfg.server.node)
    if not cc.centre:
        raise ValueError("card takeover needs [cluster] centre (the database holding the card's lease)")
    url = cfg.board.options.get("url")
    if cfg.board.driver != "wire" or not isinstance(url, str) or not url:
        raise ValueError("card takeover is for a network-attached card: board.driver = \"wire\" with options.url")
    for t in cfg.trunks:          # a takeover restarts the interface: PRI says so (Q.931 5.5)
        if t.signalling == "pri":
            t.config = {**t.config, "restart_at_start": t.config.get("restart_at_start", True)}
    return CardLease(cc.centre, url, cfg.server.node, cc.lease_ttl)


def fence(cfg: Any, epoch: int | None) -> None:
    """Make the site's wire board claim its trunks' spans with the lease ``epoch`` (the wire
    protocol's OWNER): the card then closes the connection of any older owner, so an owner that
    was paused and wakes can no longer act on the line, and refuses its reconnection."""
    if epoch is None:
        raise ValueError("no card lease held: nothing to fence with")
    spans = sorted({s for t in cfg.trunks for s in t.spans})
    cfg.board.options = {**cfg.board.options, "owner": int(epoch), **({"owner_spans": spans} if spans else {})}


def _exit(why: str) -> None:
    log.critical("card lease lost (%s): stopping at once so that the standby owns the card", why)
    os._exit(LOST)


__all__ = ["LOST", "CardLease", "fence", "for_site", "lease_name"]
