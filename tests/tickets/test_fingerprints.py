import json
import os
from collections.abc import Iterator
from pathlib import Path

from tickets import fingerprints

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SHARED_FIXTURES", REPO.parent / "shared" / "fixtures"))


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _fixture_texts() -> list[str]:
    texts: list[str] = []
    for path in [
        *sorted((REPO / "tests" / "analysis").glob("*.jsonl")),
        *SHARED.glob("**/*.jsonl"),
    ]:
        for line in path.read_text().splitlines():
            if line.strip():
                texts.extend(_strings(json.loads(line)))
    for path in [*(REPO / "tests" / "payloads").glob("*.json"), *SHARED.glob("**/*.json")]:
        texts.extend(_strings(json.loads(path.read_text())))
    # bench/ingest.py's and bench/cpu_per_op.py's messages
    adf = json.loads((REPO / "tests" / "payloads" / "adf_failure.json").read_text())
    texts += [adf["error_message"].replace("sqlsrv-sales", f"sqlsrv-{i}") for i in (-4, 0, 799)]
    return texts


def _every_mask(message: str) -> str:
    text = message[: fingerprints._NORMALIZE_LIMIT].lower()
    for pattern, replacement, _ in fingerprints._MASKS:
        text = pattern.sub(replacement, text)
    return text.strip()


SHAPES = [
    "run 3F2504E0-4F89-11D3-9A0C-0305E82C3301 failed at 2026-12-06T06:16:00.123+01:00",
    "at 2026-12-06 06:16 and 7:05:09.5, again 12:00:00; ids 0xDEADbeef and 0123456789abcdef",
    "range 10-20-30, ratio 1:22:333, dates 2026-1-02, 'quoted 2026-12-06' \"x 1:02:03\"",
    "https://example.com/runs/3f2504e0-4f89-11d3-9a0c-0305e82c3301?at=2026-12-06T06:16:00Z",
    # fullwidth and Arabic-Indic digits: `\d` matches them too
    "\uff29\uff24 \uff14\uff15\uff16-\uff17\uff18-\uff19\uff10\uff11\uff12"
    " and \u0661\u0662:\u0663\u0664:\u0665\u0666 and a-bcde-f",
]


def test_required_regexes_change_no_normalized_message() -> None:
    """A mask's regex is searched only when the text holds what it requires: every fixture
    text normalizes as with every mask applied."""
    texts = _fixture_texts() + SHAPES
    assert len(texts) > 4000
    for text in texts:
        assert fingerprints.normalize_message(text) == _every_mask(text), text[:80]
    for text in SHAPES:
        assert fingerprints.normalize_message(text) != text.lower()
