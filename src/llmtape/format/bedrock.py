"""AWS Bedrock's runtime API (``/model/{id}/converse``, ``/converse-stream``, ``/invoke``,
``/invoke-with-response-stream``) as a person reads it: the model, and the reply put together from a whole
Converse answer or from its stream events (an ``invoke`` answer is the model's own format)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from llmtape.format.reply import Reply, ToolCall

_MODEL = re.compile(r"/model/([^/]+)/(?:converse|converse-stream|invoke|invoke-with-response-stream)$")


def model(endpoint: str) -> str | None:
    """The model id in a Bedrock runtime path."""
    found = _MODEL.search(endpoint)
    return unquote(found[1]) if found else None


def converse(data: list[dict[str, Any]]) -> Reply:
    """The text and tool uses of a Converse answer or of a ConverseStream's events, with the stop reason
    and the usage."""
    result, blocks = Reply(), dict[int, dict[str, Any]]()
    for item in data:
        if isinstance(item.get("output"), dict):  # a whole answer
            content = (item["output"].get("message") or {}).get("content") or []
            blocks.update(enumerate({**block, "partial": ""} for block in content))
            result.finish, result.usage = item.get("stopReason"), item.get("usage")
        elif "start" in item and isinstance(item["start"], dict):  # contentBlockStart
            blocks[item.get("contentBlockIndex", 0)] = {**item["start"], "partial": ""}
        elif isinstance(item.get("delta"), dict):  # contentBlockDelta
            block = blocks.setdefault(item.get("contentBlockIndex", 0), {"partial": ""})
            delta = item["delta"]
            block["text"] = block.get("text", "") + delta.get("text", "")
            block["partial"] += (delta.get("toolUse") or {}).get("input", "")
        elif "stopReason" in item:  # messageStop
            result.finish = item["stopReason"]
        elif isinstance(item.get("usage"), dict):  # metadata
            result.usage = item["usage"]
    for _, block in sorted(blocks.items()):
        result.text += block.get("text", "")
        use = block.get("toolUse")
        if isinstance(use, dict):
            arguments = block["partial"] or json.dumps(use.get("input") or {})
            result.tool_calls.append(ToolCall(use.get("toolUseId", ""), use.get("name", ""), arguments))
    return result


def chunks(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The model's own events inside an InvokeModelWithResponseStream's chunks (stored decoded)."""
    return [item["bytes"] for item in data if isinstance(item.get("bytes"), dict)] or data
