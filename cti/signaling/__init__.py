"""Signalling stacks (sans-IO): China No.1 (CAS line + MFC register) and SS7 (MTP2/MTP3/ISUP).

Every stack follows one shape (aioquic / h11 style):
``receive(data, now)``, ``next_event()``, ``data_to_send()``, ``timer_deadline()``,
``handle_timer(now)``. Only adapters (cti.server, tests) touch clocks and sockets.
"""
