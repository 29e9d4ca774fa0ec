"""MTP3 (ITU-T Q.704, Q.707): routing label (ITU 14-bit / China 24-bit), SIO, network
management (changeover/changeback), signalling link test, a linkset with SLS load sharing."""
from .label import SI, NI, Variant, RoutingLabel, decode_sio, encode_sio, format_pc, parse_pc
from .linkset import Linkset, Mtp3Event

__all__ = ["SI", "NI", "Variant", "RoutingLabel", "decode_sio", "encode_sio", "format_pc", "parse_pc",
           "Linkset", "Mtp3Event"]
