"""OpenAI ``POST /v1/embeddings`` and ``GET /v1/models`` (pure; OAI-10, OAI-11).

Vectors are deterministic: for input ``i`` the SHAKE-256 stream of ``<model>|<dimensions>|<input as
canonical JSON>`` is read as little-endian uint32s, mapped to [-1, 1), normalized to unit length
and rounded to float32, so the ``float`` and ``base64`` encodings carry the same numbers. Base64 is
of little-endian float32 (what the SDK decodes; it asks for base64 by default).
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from fake_providers.canned import canonical_json
from fake_providers.context import BuildContext, usage_for
from fake_providers.keys import SETTINGS
from fake_providers.tokens import count_tokens
from fake_providers.validation import InvalidRequest, integer, one_of, require_object, string
from fake_providers.wire import ResponsePlan, Summary, json_plan

MAX_DIMENSIONS: Final = 8192
MAX_INPUTS: Final = 2048
MAX_FLOATS: Final = 1 << 22  # inputs x dimensions: keeps one request's answer under ~64 MiB of JSON
MODELS_CREATED: Final = 1_700_000_000


@dataclass(frozen=True, slots=True)
class EmbeddingsRequest:
    model: str
    inputs: tuple[str | tuple[int, ...], ...]
    encoding: str
    dimensions: int | None
    stream: bool = False


def _inputs(value: Any) -> tuple[str | tuple[int, ...], ...]:
    def ints(items: list[Any]) -> bool:
        return all(isinstance(v, int) and not isinstance(v, bool) for v in items)

    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return tuple(value)
        if ints(value):
            return (tuple(value),)
        if all(isinstance(v, list) and v and ints(v) for v in value):
            return tuple(tuple(v) for v in value)
    raise InvalidRequest(
        "'input' must be a non-empty string, array of strings, array of integers or array of integer arrays.", "input"
    )


def parse(body: Any, request: web.Request) -> EmbeddingsRequest:
    body = require_object(body)
    model = string(body, "model", required=True)
    if "input" not in body:
        raise InvalidRequest("Missing required parameter: 'input'.", "input")
    inputs = _inputs(body["input"])
    if len(inputs) > MAX_INPUTS:
        raise InvalidRequest(f"'input' accepts at most {MAX_INPUTS} items.", "input")
    encoding = one_of(body, "encoding_format", frozenset({"float", "base64"})) or "float"
    dimensions = integer(body, "dimensions", minimum=1, maximum=MAX_DIMENSIONS)
    if len(inputs) * (dimensions or request.app[SETTINGS].embedding_dimensions) > MAX_FLOATS:
        raise InvalidRequest(f"Too many inputs for the fake: at most {MAX_FLOATS} values per request.", "input")
    string(body, "user")
    assert model is not None
    return EmbeddingsRequest(model, inputs, encoding, dimensions)


def vector(model: str, item: str | tuple[int, ...], dims: int) -> list[float]:
    key = f"{model}|{dims}|{canonical_json(item if isinstance(item, str) else list(item))}"
    raw = hashlib.shake_256(key.encode("utf-8")).digest(4 * dims)
    values = [v / 2_147_483_648.0 - 1.0 for v in struct.unpack(f"<{dims}I", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    packed = struct.pack(f"<{dims}f", *(v / norm for v in values))
    return list(struct.unpack(f"<{dims}f", packed))


def encode(values: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return values
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


def input_tokens(item: str | tuple[int, ...]) -> int:
    """A string counts by the tokenizer; an array of token ids counts its length."""
    return count_tokens(item) if isinstance(item, str) else len(item)


def build(req: EmbeddingsRequest, ctx: BuildContext) -> ResponsePlan:
    dims = req.dimensions or ctx.settings.embedding_dimensions
    data = [
        {"object": "embedding", "index": i, "embedding": encode(vector(req.model, item, dims), req.encoding)}
        for i, item in enumerate(req.inputs)
    ]
    prompt = sum(input_tokens(item) for item in req.inputs)
    usage = usage_for(prompt, 0, ctx.rule)
    raw_usage = {"prompt_tokens": prompt, "total_tokens": prompt}
    summary = Summary(model=req.model, usage={**usage.neutral(), "output_tokens": 0}, usage_raw=raw_usage)
    summary.canaries = {"dimensions": dims, "encoding_format": req.encoding}
    plan = json_plan(200, {"object": "list", "data": data, "model": req.model, "usage": raw_usage}, summary)
    plan.usage_frames = frozenset({0})
    return plan


@dataclass(frozen=True, slots=True)
class ModelsRequest:
    model: str = ""
    stream: bool = False
    anthropic: bool = False
    model_id: str | None = None


def parse_models(body: Any, request: web.Request) -> ModelsRequest:
    model_id = request.match_info.get("model_id")
    return ModelsRequest(anthropic=bool(request.headers.get("anthropic-version")), model_id=model_id)


def _owner(model: str) -> str:
    return "anthropic" if model.startswith("claude") else "google" if model.startswith("gemini") else "openai"


def build_models(req: ModelsRequest, ctx: BuildContext) -> ResponsePlan:
    models = [req.model_id] if req.model_id is not None else list(ctx.settings.models)
    if req.anthropic:
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z", "lifecycle": "active"}
            for m in models
        ]
        body: Any = {"data": data, "has_more": False, "first_id": models[0] if models else None,
                     "last_id": models[-1] if models else None}  # fmt: skip
    else:
        data = [{"id": m, "object": "model", "created": MODELS_CREATED, "owned_by": _owner(m)} for m in models]
        body = data[0] if req.model_id is not None else {"object": "list", "data": data}
    if req.anthropic and req.model_id is not None:
        body = data[0]
    return json_plan(200, body, Summary())
