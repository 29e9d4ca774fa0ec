"""Signalling stacks (sans-IO): China No.1 (CAS line + MFC register), SS7 (MTP2/MTP3/ISUP), PRI.

Every stack follows one shape (aioquic / h11 style), pinned by the Protocol
:class:`cti.signaling.stack.SansIOStack`: ``receive(data, now)``, ``events()``,
``data_to_send(now)``, ``timer_deadline()``, ``handle_timer(now)``. Every state machine
runs on the one engine, :mod:`cti.signaling.engine`. Only adapters (trunks, the run loop of
:mod:`cti.signaling.runner`, tests) touch clocks, boards and sockets.
"""
