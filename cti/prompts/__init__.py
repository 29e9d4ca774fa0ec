"""Prompt sets (Mandarin and English) and the announcements built from them (see docs/ivr.md)."""
from __future__ import annotations

from pathlib import Path

from .promptset import PromptError, PromptMissing, PromptSet


def shipped(language: str, directory: str | Path | None = None) -> PromptSet:
    """The shipped ``language`` set, generated into ``directory`` on first use (default: the
    user's cache, ``~/.cache/e1cti/prompts/<language>``)."""
    from .build import default_dir, generate

    d = Path(directory) if directory is not None else default_dir() / language
    if not (d / "manifest.toml").is_file():
        generate(language, d)
    return PromptSet.load(d)


__all__ = ["PromptError", "PromptMissing", "PromptSet", "shipped"]
