"""Seqs that are never reused: durable reservations ahead of the publisher, and the journal gap
an unclean stop leaves (declared by a :class:`~cti.bus.events.JournalGap` at the next start).

Before the publisher stamps a seq beyond the reservation recorded durably in the store
(``Store.reserve_seq``, meta ``bus.seq_reserved``), :meth:`Reservations.reach` waits for the
next block; :meth:`Reservations.ahead` (every loop turn) asks for two blocks beyond the current
seq when less than one is left, off the loop's thread, so the publisher rarely waits. After an
unclean stop the journal ends before the reservation: the seqs between may have gone out on
PUB and are declared, never reused. A clean stop lowers the reservation to the last seq.
"""
from __future__ import annotations

import time

from cti.store.base import Store, StoreError

#: seqs reserved at a time at least, and the seconds of events a block covers at the current rate
RESERVE_MIN = 10_000
RESERVE_SECONDS = 1.0
RESERVE_MAX = 1 << 26


class Reservations:
    """The seq state of one bus on ``store``: where publishing continues, the gap to declare."""

    def __init__(self, store: Store) -> None:
        self.store = store
        journaled = store.last_seq()
        reserved = store.reserved_seq()
        #: seqs an unclean stop left reserved but not journaled (declared by a JournalGap at start)
        self.gap: tuple[int, int] | None = (journaled + 1, reserved) if reserved > journaled else None
        #: the seq publishing continues after
        self.start = max(journaled, reserved)
        self.asked = self.start            # the highest reservation asked for
        self.block = RESERVE_MIN
        self._asked_at = (time.monotonic(), self.start)

    def next_block(self, seq: int) -> int:
        """Ask for a reservation two blocks beyond ``seq`` (a block: ``RESERVE_SECONDS`` of
        events at the rate since the last ask, RESERVE_MIN at least): one durable write per
        block of events, a block's worth of time for it to land; returns its end."""
        now = time.monotonic()
        t0, s0 = self._asked_at
        rate = (seq - s0) / (now - t0) if now > t0 else 0.0
        self.block = int(min(max(RESERVE_MIN, rate * RESERVE_SECONDS), RESERVE_MAX))
        self._asked_at = (now, seq)
        self.asked = seq + 2 * self.block
        return self.asked

    def reach(self, seq: int) -> int:
        """The publisher's ``on_limit``: ``seq`` is beyond the durable reservation; wait for the
        one asked for (or ask now) and return the new limit. A failed write raises StoreError
        and the event is not published."""
        if self.asked < seq:
            self.next_block(seq - 1)
        self.store.reserve_seq(self.asked, wait=True)
        durable = self.store.seq_reserved
        if durable < seq:
            raise StoreError(f"seq reservation up to {self.asked} is not durable (store has {durable})")
        return durable

    def ahead(self, seq: int, limit: int) -> int:
        """Every loop turn: the publisher's new limit (what is durable by now), after asking
        for the next blocks when less than one is left beyond ``seq``."""
        durable = self.store.seq_reserved
        if seq + self.block > self.asked:
            self.store.reserve_seq(self.next_block(seq), wait=False)
        return durable if durable > limit else limit

    def lower(self, seq: int) -> None:
        """A clean stop: nothing beyond ``seq`` was published, the next start declares no gap."""
        self.store.reserve_seq(seq, wait=True)
