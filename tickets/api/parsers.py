"""The API's JSON parser: DRF's, except that JSON nested deeper than Python's recursion limit
(`[[[[…` within the body size limit) is a 400 like any other JSON it cannot read; DRF's catches
ValueError only, and the RecursionError was a 500."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class DepthCheckedJSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc
