"""CPU of secret redaction, in-process: the current `analysis/redaction.py` against the same
module as a git commit had it (default e1ef105, before the rules of bb60147 and 15f3106).

    .venv/bin/python bench/redaction.py [--baseline e1ef105] [--rounds 21]

Texts: every string value of the webhook bodies in tests/payloads/**/*.json and
/work/shared/fixtures/payloads (one "body" is all the strings of one file), and the `message`
of every line of tests/analysis/*.jsonl. Each text goes through `_redact`, so the memo of
`redact` is bypassed. Rounds alternate the two modules (which one goes first alternates too);
the figures are medians over the rounds of CPU time (`time.process_time`), in microseconds per
body and per message, with the ratio current / baseline. Then, as the webhook path redacts a
body, each parsed body whole through `redact_data` (its keys too), the memos of texts and keys
emptied before each body: microseconds per body.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SHARED_PAYLOADS = Path("/work/shared/fixtures/payloads")


def strings(value: Any) -> Iterator[str]:
    """Every string value in a parsed JSON document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def documents() -> list[Any]:
    files = sorted((REPO / "tests" / "payloads").rglob("*.json"))
    if SHARED_PAYLOADS.is_dir():
        files += sorted(SHARED_PAYLOADS.rglob("*.json"))
    return [json.loads(f.read_text()) for f in files]


def bodies() -> list[list[str]]:
    return [[s for s in strings(document) if s] for document in documents()]


def data_cpu_us(module: types.ModuleType, docs: list[Any]) -> float:
    """CPU microseconds to redact every document whole with `module.redact_data`, as a body
    not seen before: the module's memos (of texts, of keys) emptied before each."""
    memos = [
        getattr(module, name)
        for name in ("_redact_remembered", "_is_secret_key_remembered", "_key_facts")
        if hasattr(module, name)
    ]
    spent = 0.0
    for document in docs:
        for memo in memos:
            memo.cache_clear()
        start = time.process_time()
        module.redact_data(document)
        spent += time.process_time() - start
    return spent * 1e6


def messages() -> list[str]:
    out: list[str] = []
    for f in sorted((REPO / "tests" / "analysis").glob("*.jsonl")):
        for line in f.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if isinstance(row, dict) and isinstance(row.get("message"), str) and row["message"]:
                out.append(row["message"])
    return out


def baseline_module(commit: str) -> types.ModuleType:
    """analysis/redaction.py as `commit` had it, loaded as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{commit}:analysis/redaction.py"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType(f"redaction_{commit}")
    module.__file__ = f"{commit}:analysis/redaction.py"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def cpu_us(redact: Callable[[str], str], texts: list[str]) -> float:
    """CPU microseconds to redact every text once."""
    start = time.process_time()
    for text in texts:
        redact(text)
    return (time.process_time() - start) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="e1ef105", help="git commit of the baseline")
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()

    from analysis import redaction as current

    base = baseline_module(args.baseline)
    all_bodies = bodies()
    body_texts = [s for body in all_bodies for s in body]
    n_bodies = len(all_bodies)
    msgs = messages()
    docs = documents()
    modules = {"current": current._redact, args.baseline: base._redact}
    data_modules = {"current": current, args.baseline: base}
    for redact in modules.values():  # warm up: compile patterns, fill caches
        cpu_us(redact, body_texts)
        cpu_us(redact, msgs)
    per_body: dict[str, list[float]] = {k: [] for k in modules}
    per_message: dict[str, list[float]] = {k: [] for k in modules}
    per_data: dict[str, list[float]] = {k: [] for k in modules}
    names = list(modules)
    gc.disable()
    try:
        for i in range(args.rounds):
            for name in names if i % 2 == 0 else reversed(names):
                per_body[name].append(cpu_us(modules[name], body_texts) / n_bodies)
                per_message[name].append(cpu_us(modules[name], msgs) / len(msgs))
                per_data[name].append(data_cpu_us(data_modules[name], docs) / len(docs))
    finally:
        gc.enable()

    print(
        f"{n_bodies} bodies ({len(body_texts)} strings), {len(msgs)} messages, "
        f"{args.rounds} rounds; medians of CPU time"
    )
    body = {k: statistics.median(v) for k, v in per_body.items()}
    message = {k: statistics.median(v) for k, v in per_message.items()}
    for name in names:
        label = name if name == "current" else f"baseline {name}"
        print(f"{label:>18}: {body[name]:8.1f} us per body  {message[name]:6.2f} us per message")
    b = args.baseline
    print(
        f"{'current / baseline':>18}: {body['current'] / body[b]:8.2f}"
        f"             {message['current'] / message[b]:6.2f}"
    )
    data = {k: statistics.median(v) for k, v in per_data.items()}
    print(
        f"{'redact_data':>18}: {data['current']:8.1f} us per body, keys included (baseline "
        f"{data[b]:.1f}; current / baseline {data['current'] / data[b]:.2f})"
    )


if __name__ == "__main__":
    main()
