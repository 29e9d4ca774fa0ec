"""IVR: menus from TOML, prompts from WAV files, digit collection (see docs/ivr.md)."""
from .collect import CollectSpec, Collected, DigitCollector
from .menu import IvrConfig, IvrConfigError
from .session import DigitsCollected, Hangup, IvrSession, Play, Say, StopPlay, ToFax, ToQueue, ToVoicemail

__all__ = ["CollectSpec", "Collected", "DigitCollector", "DigitsCollected", "Hangup", "IvrConfig",
           "IvrConfigError", "IvrSession", "Play", "Say", "StopPlay", "ToFax", "ToQueue", "ToVoicemail"]
