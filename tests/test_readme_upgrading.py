"""The README names every migration a release brings (Upgrading: an operator reads it to know
what `make run` will apply) and which concurrent index builds a stopped migrate redoes (Scaling
out)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# The first migration of each app after the release at 6e97434, from which the README's list of
# "The migrations since" starts.
FIRST_SINCE_6E97434 = {"tickets": 35, "integrations": 16, "analysis": 5}

# The first migration of each app after each release whose paragraph ("From the release at …")
# is kept to the migrations since: a migration that lands names itself in each of them.
FIRST_SINCE_RELEASE = {
    "fccd6e8": {"tickets": 59, "integrations": 31, "analysis": 5},
    "0b9c3aa": {"tickets": 61, "integrations": 32, "analysis": 5},
}
COUNTS = {1: "one migration", 2: "two migrations", 3: "three migrations", 4: "four migrations",
          5: "five migrations", 6: "six migrations", 7: "seven migrations"}  # fmt: skip


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


def release_paragraph(release: str) -> str:
    paragraphs = upgrading_section().split("From the release at ")
    found = [text for text in paragraphs if text.startswith(f"{release} ")]
    assert len(found) == 1, f"no paragraph 'From the release at {release}'"
    return " ".join(found[0].split())


@pytest.mark.parametrize("release", sorted(FIRST_SINCE_RELEASE))
def test_a_release_paragraph_names_every_migration_since_and_how_many(release: str) -> None:
    paragraph = release_paragraph(release)
    since = [
        f"{app}/{number}"
        for app, first in FIRST_SINCE_RELEASE[release].items()
        for number in migration_numbers(app, first)
    ]
    assert [name for name in since if f"`{name}`" not in paragraph] == []
    assert f"applies {COUNTS[len(since)]}" in paragraph


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
