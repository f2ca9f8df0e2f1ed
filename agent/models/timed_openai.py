"""``ChatOpenAI`` that keeps the server's own timings. llama.cpp's server adds ``timings``
(prompt tokens processed and their milliseconds, tokens generated and theirs, tokens reused
from its cache) to every response; LangChain drops fields it does not know, so they are copied
into each message's ``response_metadata`` here, where ``contract.Usage`` reads them.

Imported only where an OpenAI-compatible client is built: ``langchain_openai`` costs seconds.
"""

from __future__ import annotations

from typing import Any

import openai
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI


class TimedChatOpenAI(ChatOpenAI):
    def _create_chat_result(self, response: dict[str, Any] | openai.BaseModel,
                            generation_info: dict[str, Any] | None = None) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        timings = (response.get("timings") if isinstance(response, dict)
                   else (response.model_extra or {}).get("timings"))
        if isinstance(timings, dict):
            for generation in result.generations:
                metadata = getattr(generation.message, "response_metadata", None)
                if isinstance(metadata, dict):
                    metadata["timings"] = dict(timings)
        return result
