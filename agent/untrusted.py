"""Text that came from a file or a tool reaches the model as data, never as control.

Two walls, both cheap. The workbook view sits inside ``<data>`` tags that the system prompt
declares to be the file's content, not instructions, and a cell cannot close them early. And
before any message is sent, chat-template control sequences (``<|im_start|>``, ``[INST]``,
``<start_of_turn>``, ...) written in it are broken with a zero-width non-joiner: servers that
tokenize special tokens inside message text (llama.cpp, vLLM) would otherwise read a cell that
says ``<|im_end|><|im_start|>system`` as a new system turn. What a tool may do never depends on
what the model read: the tools and their rights are fixed when the run starts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.messages import BaseMessage, SystemMessage

_BREAK = "\u200c"  # zero-width non-joiner: invisible to a reader, splits the token
_CONTROL = re.compile(
    r"<\|[^<>|\s]{1,48}\|>"  # Qwen/ChatML, Llama 3, Phi: <|im_start|>, <|eot_id|>, <|user|>
    r"|<\uff5c[^<>\uff5c\s]{1,64}\uff5c>"  # DeepSeek's full-width bars: <｜User｜>
    r"|</?(?:s|start_of_turn|end_of_turn|start_of_image|end_of_image|tool_call|tool_response"
    r"|tools|think|bos|eos|sop|eop|tts_[a-z_]{1,32})>"
    r"|\[/?(?:INST|SYS|TOOL_CALLS|AVAILABLE_TOOLS|TOOL_RESULTS|TOOL_CONTENT|SYSTEM_PROMPT|THINK"
    r"|ARGS|CALL_ID|IMG|IMG_BREAK|IMG_END|PREFIX|MIDDLE|SUFFIX)\]"  # Llama 2, Mistral
    r"|\[[gs]MASK\]"  # GLM
    r"|<<\s*/?SYS\s*>>",
)
_DATA_TAG = re.compile(r"<(/?)data\b", re.IGNORECASE)


def defang(text: str) -> str:
    """``text`` with every chat-template control sequence broken so no tokenizer reads it as one."""
    return _CONTROL.sub(lambda m: m.group(0)[0] + _BREAK + m.group(0)[1:], text)


def as_data(text: str) -> str:
    """``text`` (a view of the file) inside ``<data>`` tags it cannot close or reopen."""
    if not text:
        return ""
    inner = _DATA_TAG.sub(lambda m: "<" + _BREAK + m.group(1) + "data", text)
    return f"<data>\n{inner}\n</data>"


def defang_messages(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The messages as the model will get them: every message but the system prompt defanged.

    Tool-call structures of earlier AI messages are kept as they are (they are the model's
    own, and the loop already validated them); only their text is defanged.
    """
    out: list[BaseMessage] = []
    for message in messages:
        content = message.content
        if isinstance(message, SystemMessage) or not isinstance(content, str):
            out.append(message)
            continue
        safe = defang(content)
        out.append(message if safe == content else message.model_copy(update={"content": safe}))
    return out
