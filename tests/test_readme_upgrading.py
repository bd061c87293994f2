"""The README names every migration a release brings (Upgrading: an operator reads it to know
what `make run` will apply) and which concurrent index builds a stopped migrate redoes (Scaling
out)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# The first migration of each app after the release at 6e97434, from which the README's list of
# "The migrations since" starts.
FIRST_SINCE_6E97434 = {"tickets": 35, "integrations": 16, "analysis": 5}


def upgrading_section() -> str:
    return README.read_text().split("### Upgrading", 1)[1].split("\n### ", 1)[0]


def migration_numbers(app: str, since: int) -> list[str]:
    return sorted(
        path.name[:4]
        for path in (ROOT / app / "migrations").glob("[0-9][0-9][0-9][0-9]_*.py")
        if int(path.name[:4]) >= since
    )


def test_the_list_of_migrations_since_6e97434_names_every_one() -> None:
    listed = upgrading_section().split("The migrations since:", 1)[1].split("\n\nSo ", 1)[0]
    missing = [
        f"{app}/{number}"
        for app, since in FIRST_SINCE_6E97434.items()
        for number in migration_numbers(app, since)
        if f"`{app}/{number}`" not in listed
    ]
    assert missing == []


def test_every_build_that_drops_an_interrupted_one_is_named_as_such() -> None:
    sentence = re.search(
        r"for the builds from tickets/0031 on \(([^)]*)\)", " ".join(README.read_text().split())
    )
    assert sentence is not None
    named: dict[str, set[str]] = {}
    app = ""
    for part in re.split(r",\s*|\s+and\s+", sentence.group(1)):
        found = re.fullmatch(r"(?:(\w+)/)?(\d{4})", part.strip())
        assert found is not None, part
        app = found.group(1) or app
        named.setdefault(app, set()).add(found.group(2))
    rebuilt = {
        (path.parent.parent.name, path.name[:4])
        for path in ROOT.glob("*/migrations/[0-9][0-9][0-9][0-9]_*.py")
        if "dropping_an_interrupted_build(" in path.read_text()
    }
    assert sorted(rebuilt - {(a, n) for a, numbers in named.items() for n in numbers}) == []
