"""The far end, in software: a virtual E1 card and a virtual telephone exchange.

``simulator.card`` clocks spans at 8000 frames/s (virtual or real time) through the
real framer kernels; ``simulator.exchange`` places and answers calls over No.1 or SS7
on the far side of a span; ``simulator.faults`` injects line faults; ``simulator.server``
serves a card over the wire protocol (``cti-sim``).
"""
