"""Provider adapters: one upstream wire format per module, all pure translation.

``adapter_for(format)`` returns the adapter for a target's ``provider`` setting; the table is
explicit, nothing registers itself at import time.
"""

from __future__ import annotations

from typing import Final

from testbed.gateway.providers.anthropic import AnthropicAdapter
from testbed.gateway.providers.base import (
    ChatResult,
    ProviderAdapter,
    RequestNotSupported,
    StreamState,
    StreamTranslator,
    UpstreamError,
    UpstreamRequest,
)
from testbed.gateway.providers.gemini import GeminiAdapter
from testbed.gateway.providers.openai import OpenAIAdapter

ADAPTERS: Final[dict[str, ProviderAdapter]] = {
    "openai": OpenAIAdapter(),
    "anthropic": AnthropicAdapter(),
    "gemini": GeminiAdapter(),
}


def adapter_for(provider_format: str) -> ProviderAdapter:
    return ADAPTERS[provider_format]


__all__ = [
    "ADAPTERS",
    "ChatResult",
    "ProviderAdapter",
    "RequestNotSupported",
    "StreamState",
    "StreamTranslator",
    "UpstreamError",
    "UpstreamRequest",
    "adapter_for",
]
