"""MTP2 signalling link (ITU-T Q.703): signal unit codec, alignment, error monitors, error correction."""
from .codec import FISU, LSSU, MSU, Status, SignalUnit, decode, encode, fcs16
from .link import Mtp2Link, Mtp2Event
from .states import LinkState

__all__ = ["FISU", "LSSU", "MSU", "Status", "SignalUnit", "decode", "encode", "fcs16",
           "Mtp2Link", "Mtp2Event", "LinkState"]
