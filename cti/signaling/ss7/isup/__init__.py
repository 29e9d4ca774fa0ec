"""ISUP (ITU-T Q.763 formats, Q.764 procedures): codec tables, call control, circuit supervision."""
from .codec import FORMATS, IsupMessage, MessageType, decode, encode
from .node import IsupEvent, IsupNode
from .params import CauseInd, Number, RangeStatus

__all__ = ["FORMATS", "IsupMessage", "MessageType", "decode", "encode", "IsupEvent", "IsupNode",
           "CauseInd", "Number", "RangeStatus"]
