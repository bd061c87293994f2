"""Every rule of the rule RCA, tried on the example message it carries: it must be the rule the
engine picks for that message (not an earlier one, not the class template), and the catalogue
must list every rule the class modules define, once."""

from __future__ import annotations

import pytest

from analysis import signals
from analysis.classifier import _SIGNALS, ERROR_CLASSES
from analysis.rules import (
    authentication,
    build_rule_rca,
    code_errors,
    configuration,
    data_errors,
    database,
    external_service,
    network,
    resource_exhaustion,
    timeouts,
    unclassified,
)
from analysis.rules.base import Rule
from analysis.rules.catalogue import RULES
from analysis.rules.data import TEMPLATES

CLASS_MODULES = (
    authentication,
    network,
    database,
    resource_exhaustion,
    data_errors,
    external_service,
    timeouts,
    configuration,
    code_errors,
    unclassified,
)


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_rule_explains_its_example(rule: Rule) -> None:
    error_type = rule.classes[0]
    rca = build_rule_rca(error_type, rule.example, pipeline="pl_example")

    assert rule.pattern.search(rule.example)
    assert rca.rule == rule.name
    template = TEMPLATES[error_type].cause.format(subject="Pipeline 'pl_example'")
    assert template not in rca.root_cause
    assert 3 <= len(rca.recommendations) <= 5


def test_catalogue_lists_every_rule_once() -> None:
    defined = {
        value.name
        for module in CLASS_MODULES
        for value in vars(module).values()
        if isinstance(value, Rule)
    }
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names)) == 301
    assert set(names) == defined


def test_rules_serve_known_classes_and_every_class_has_a_template() -> None:
    assert {c for rule in RULES for c in rule.classes} <= set(ERROR_CLASSES)
    assert set(TEMPLATES) == set(ERROR_CLASSES)


def test_a_rule_named_like_a_classifier_signal_shares_its_phrases() -> None:
    """The signals both sides look for live in analysis/signals.py: each phrase of a shared
    signal is an alternative of the classifier's signal and of the rule of the same name."""
    by_name = {signal.name: signal for signal in _SIGNALS}
    shared = {rule.name for rule in RULES} & set(by_name)
    assert len(shared) == 181
    for name in shared - {"python_exception", "jvm_exception"}:
        phrases = getattr(signals, name.upper())
        rule = next(rule for rule in RULES if rule.name == name)
        for phrase in phrases:
            assert f"|{phrase}|" in f"|{rule.pattern.pattern}|", (name, phrase)
            assert f"|{phrase.lower()}|" in f"|{by_name[name].pattern.pattern}|", (name, phrase)
    for name, words in (
        ("python_exception", signals.PYTHON_BUG_EXCEPTIONS),
        ("jvm_exception", signals.JVM_BUG_EXCEPTIONS),
    ):
        rule = next(rule for rule in RULES if rule.name == name)
        for word in words:
            assert rule.pattern.search(word) and by_name[name].pattern.search(word)
