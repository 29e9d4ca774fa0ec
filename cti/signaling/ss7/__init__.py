"""SS7 (Signalling System No.7) stack, sans-IO: MTP2 (Q.703), MTP3 (Q.704/Q.707), ISUP (Q.763/Q.764).

Layers are named after the recommendations' functional blocks; each takes bytes and ``now``
in and hands bytes and events out, so the same code runs over a board's HDLC timeslot, a
SOCK_SEQPACKET socket (libss7 interop) or back to back in memory.
"""
