"""Text-to-speech for prompts and announcements: pluggable engines, rendered off the loop, cached."""
from .engine import CommandEngine, EspeakEngine, TtsEngine, TtsError, make_engine
from .service import TtsJob, TtsService

__all__ = ["CommandEngine", "EspeakEngine", "TtsEngine", "TtsError", "TtsJob", "TtsService", "make_engine"]
