"""Rule-based root-cause analysis (pure Python, no Django): see analysis/rules/engine.py."""

from analysis.rules.engine import USER_ERROR_NOTE, RuleRca, build_rule_rca
from analysis.rules.extract import MAX_VALUE_CHARS, clean_value

__all__ = ["MAX_VALUE_CHARS", "USER_ERROR_NOTE", "RuleRca", "build_rule_rca", "clean_value"]
