"""A local stand-in for the Gemini REST API, for tests that run the real `google-genai` client.

    with FakeGemini() as fake:
        fake.rca_answer = {...}            # what :generateContent returns as the JSON text
        fake.fail(429, fake.error_body(429, "quota"))
        fake.requests                      # every request seen (to check what left the service)
        fake.thought, fake.thoughts_tokens = "...", 700   # a thinking model's summary and tokens

Answers `POST /{v1,v1beta}/models/{model}:generateContent` with a candidate whose text is the
JSON answer, `usageMetadata` included, and `:batchEmbedContents` with deterministic vectors
(hashed character trigrams, so similar texts get similar vectors).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from tests.fakes.http import FakeHttpService, RecordedRequest, Reply

GOOD_RCA = {
    "root_cause": "The SQL Database firewall does not allow the integration runtime's outbound IP.",
    "recommendations": [
        "Add the integration runtime's IP range to the SQL server firewall.",
        "Re-run the pipeline once connectivity is confirmed.",
    ],
    "error_class": "NetworkError",
    "severity": "High",
    "confidence": 0.82,
    "similar_ticket_ids": [],
}


def embed_text(text: str, dims: int) -> list[float]:
    vector = [0.0] * dims
    lowered = text.lower()
    for i in range(max(1, len(lowered) - 2)):
        gram = lowered[i : i + 3]
        bucket = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=4).digest(), "big")
        vector[bucket % dims] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class FakeGemini(FakeHttpService):
    def __init__(self) -> None:
        super().__init__()
        self.rca_answer: Any = dict(GOOD_RCA)
        self.raw_text: str | None = None  # when set, returned as the candidate text verbatim
        self.block_reason: str | None = None  # e.g. "SAFETY": the prompt is blocked
        self.finish_reason = "STOP"
        self.usage = {"promptTokenCount": 812, "candidatesTokenCount": 164, "totalTokenCount": 976}
        # A thinking model's answer: its thought summary comes as a part marked `thought`
        # before the answer, and the thinking's tokens are counted apart from the answer's.
        self.thought: str | None = None
        self.thoughts_tokens = 0

    def error_body(self, status: int, message: str) -> Any:
        names = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED"}
        return {
            "error": {"code": status, "message": message, "status": names.get(status, "INTERNAL")}
        }

    def generate_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(":generateContent")]

    def prompt_text(self, request: RecordedRequest) -> str:
        """Everything the service sent in one generateContent call, as one string."""
        return json.dumps(request.body)

    def route(self, request: RecordedRequest) -> Reply:
        if request.method != "POST":
            return 404, self.error_body(404, "not found"), {}
        if request.path.endswith(":batchEmbedContents"):
            return 200, self._embeddings(request.body or {}), {}
        if request.path.endswith(":generateContent"):
            return 200, self._generation(), {}
        return 404, self.error_body(404, f"unknown path {request.path}"), {}

    def _generation(self) -> dict[str, Any]:
        if self.block_reason:
            return {"promptFeedback": {"blockReason": self.block_reason}, "usageMetadata": {}}
        text = self.raw_text if self.raw_text is not None else json.dumps(self.rca_answer)
        parts: list[dict[str, Any]] = [{"text": text}]
        if self.thought is not None:
            parts.insert(0, {"text": self.thought, "thought": True})
        usage = dict(self.usage)
        if self.thoughts_tokens:
            usage["thoughtsTokenCount"] = self.thoughts_tokens
            usage["totalTokenCount"] += self.thoughts_tokens
        candidate: dict[str, Any] = {
            "content": {"role": "model", "parts": parts},
            "finishReason": self.finish_reason,
            "index": 0,
        }
        if self.finish_reason == "SAFETY":  # the answer withheld: no content, only the ratings
            del candidate["content"]
            candidate["safetyRatings"] = [
                {
                    "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                    "probability": "HIGH",
                    "blocked": True,
                }
            ]
        return {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": "gemini-2.5-flash",
        }

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        embeddings = []
        for item in body.get("requests", []):
            text = " ".join(part.get("text", "") for part in item["content"]["parts"])
            dims = item.get("outputDimensionality") or 768
            embeddings.append({"values": embed_text(text, dims)})
        return {"embeddings": embeddings}
