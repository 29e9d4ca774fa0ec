"""``python -m cti.prompts build DIR --language zh`` / ``python -m cti.prompts say zh 1024 --agent``."""
from __future__ import annotations

import argparse
import sys

from . import numbers
from .build import generate
from .promptset import PromptSet


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cti.prompts", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="generate a shipped prompt set with espeak-ng")
    b.add_argument("directory")
    b.add_argument("--language", choices=("zh", "en"), default="zh")
    s = sub.add_parser("say", help="print what an announcement reads")
    s.add_argument("language", choices=("zh", "en"))
    s.add_argument("value")
    s.add_argument("--agent", action="store_true", help="a work number, digit by digit")
    s.add_argument("--position", action="store_true", help="a queue position")
    s.add_argument("--wait", type=float, default=None, help="expected wait in seconds (with --position)")
    a = ap.parse_args(argv)
    if a.cmd == "build":
        out = generate(a.language, a.directory)
        print(f"{out}: {len(PromptSet.load(out).names())} prompts")
        return 0
    try:
        if a.agent:
            names = ["agent_before", *numbers.digits(a.language, a.value), "agent_after"]
        elif a.position:
            ps = PromptSet(directory=None, language=a.language, voice="", prompts={})  # type: ignore[arg-type]
            names = ps.queue_position_names(int(a.value), a.wait)
        else:
            names = numbers.quantity(a.language, int(a.value))
    except (numbers.NumberError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if a.language == "zh":
        words = {**numbers.ZH_TEXT, "agent_before": "工号", "agent_after": "为您服务", "position_before": "您前面还有",
                 "position_after": "位", "wait_before": "预计等待", "wait_after": "分钟"}
        print("".join(words.get(n, n) for n in names))
    else:
        print(" ".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
