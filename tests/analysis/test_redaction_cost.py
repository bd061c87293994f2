"""What redaction costs: a text with none of the rules' hints runs no pattern, and the key/value
rule tries only the positions where a key starts. Neither shortcut changes what is masked: the
rules applied one after the other, each over the whole text, give the same."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis import redaction
from tests.analysis.test_redaction import CLEAN_CASES, SECRET_CASES

TESTS = Path(__file__).resolve().parent.parent

# Strings of a webhook body that hold no secret and none of the rules' hints.
PLAIN = [
    "2019-08-26T09:28:58.3019107+00:00",
    "bbbbbbbb-1111-2222-3333-cccccccccccc",
    "Succeeded",
    "Microsoft.DataFactory/factories",
    "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/test-RG/providers/"
    "Microsoft.Compute/virtualMachines/test-VM",
    "Processor time above 90% on a VM",
    "adf-sales-prod",
    "https://airflow.example.com/dags/finance_month_close/grid?task_id=reconcile_ledger",
]


def _pattern_calls(fn: Callable[[], object]) -> int:
    """How many times `fn` calls a compiled pattern's methods (search, match, finditer, sub)."""
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "c_call" and isinstance(getattr(arg, "__self__", None), re.Pattern):
            calls += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


def test_a_text_without_any_hint_runs_no_pattern() -> None:
    assert _pattern_calls(lambda: [redaction._redact(text) for text in PLAIN]) == 0
    assert [redaction._redact(text) for text in PLAIN] == PLAIN
    # Every rule has a hint the one-pass search can find, so no rule runs on every text.
    assert not redaction._UNHINTED


def test_no_hint_can_appear_where_a_rule_masked_something() -> None:
    """The hints are looked for once, in the text as it came: a rule's output only cuts spans
    out and puts a marker in their place, so a hint must hold no bracket and be no part of a
    marker."""
    markers = redaction._fold(redaction.REDACTED + redaction.REDACTED_EMAIL)
    for every, one in redaction._RULE_HINTS:
        for hint in every | one:
            assert hint and hint == redaction._fold(hint)
            assert "[" not in hint and "]" not in hint and hint not in markers, hint


def test_the_key_value_rule_tried_where_a_key_starts_masks_what_the_whole_scan_does() -> None:
    [rule] = [r for r in redaction._RULES if r.pattern is redaction._KV]
    assert rule.starts is not None
    whole_text = dataclasses.replace(rule, starts=None)
    prose = "the nightly load of orders failed after a timeout on the warehouse connection; "
    text = prose * 250 + "password: Hunter2!x and token is q9XwV2mZ7rT4 " + prose * 250
    folded = redaction._fold(text)
    assert redaction._apply(rule, text, folded) == redaction._apply(whole_text, text, folded)
    assert "Hunter2!x" not in redaction._redact(text)


def _every_rule(text: str) -> str:
    """The rules applied one after the other, each over the whole text, hints or not."""
    text = redaction._redact_pem(text)
    for rule in redaction._RULES:
        rule = dataclasses.replace(rule, hints=(), any_hints=(), starts=None)
        text = redaction._apply(rule, text, redaction._fold(text) if rule.fold else text)
    return text


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _corpus() -> list[str]:
    texts = [case[0] for case in SECRET_CASES] + list(CLEAN_CASES) + PLAIN
    for path in sorted((TESTS / "payloads").rglob("*.json")):
        texts += _strings(json.loads(path.read_text()))
    for path in sorted((TESTS / "analysis").glob("*errors*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                texts += _strings(json.loads(line))
    return texts


# Pieces of secrets, of their keys and of prose, joined at random below.
FRAGMENTS = [
    *("--api-key ", "--access-key ", "--sas-token ", "--client-secret ", "--passwd ", "-pwd "),
    *("'--password', 'x'", "curl -u a:", "mysql -p", "sqlcmd -P ", "sshpass -p ", "login -p "),
    *("AKIA", "ASIA", "AIPA", "ABCDEFGHIJKLMNOP", "ghp_", "ghs_", "A1b2" * 9, "eyJabcdef."),
    *(
        "xoxb-1234567890",
        "dapi" + "0123456789abcdef" * 2,
        "abc1Q~" + "a" * 32,
        "AIza" + "a1B2c" * 7,
    ),
    *("https%3A%2F%2Fu%3Ap%40h", "%253A%252F%252Fu%253Ap%2540h", "%3Fsig%3Dabc", "%2526code%253dq"),
    *("https://u:p@h/", "jdbc:oracle:thin:u/p@h", "hooks.slack.com/services/ABCDEFGHIJKL", "@"),
    *("Bearer ", "Basic dXNlcjpwYXNz", "Authorization: ", "Cookie: sid=1; Path=/", "?code="),
    *("fs.azure.account.key.a.dfs.core.windows.net ", "SharedAccessSignature=sv=1&sig=", "&"),
    *("create user x identified by ", "PASSWORD('x')", "auth=('u', 'p')", "HTTPBasicAuth('u', "),
    *("aws_secret_access_key=", "client_secret=", "subscription-key: ", "apikey", "functionskey"),
    *("sqlplus -s ", "sqlldr ", "exp ", "imp ", "rman target ", "a/b@c", "userid=", "Splunk "),
    *("create user x\n identified by\n", 'auth=(\\"u\\", \\"p\\")', '\\\\\\"', "dose" + "0a" * 16),
    *('.option("password", ', "machine h login u password ", "redis-cli -a ", "mongo -p "),
    *("connect to d user u using ", "client-key-data: ", "basic.auth.user.info=u:", "fs.s3a."),
    *("Password", "passphrase", "SECRET", "Token", "API Key", "Sig", "SAS", "Key", "pass", "pwd"),
    *(
        " is ",
        " was ",
        " with ",
        " set to ",
        ":",
        " : ",
        "=",
        "=>",
        ":=",
        '\\"',
        '"',
        "'",
        "{",
        "}",
    ),
    *("Hunter2", "Xy12Ab34Cd56Ef78", "correct horse battery staple", "expired", " ", "\n", "-"),
    *("[REDACTED]", "[REDACTED_EMAIL]", "user", "host.com", "x" * 8, "%", "25", "3a", "2f", "40"),
]


def test_the_shortcuts_change_no_output() -> None:
    rng = random.Random(7)
    fuzz = [
        "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 10))) for _ in range(20_000)
    ]
    texts = _corpus() + fuzz
    texts += [t.swapcase() for t in texts[:2000]]
    differ = [t for t in texts if redaction._redact(t) != _every_rule(t)]
    assert not differ, differ[:5]
    assert sum(redaction._redact(t) != t for t in fuzz) > 10_000  # the fuzz does mask things
