"""The conversation the memory scenarios hold, after the conversational-memory tutorial."""

from __future__ import annotations

SYSTEM = "You are a helpful assistant called Zeta. Answer in one or two sentences."
INTRODUCTION = "Hi, my name is Ankur and I am a GenAI developer."
TURNS = [
    INTRODUCTION,
    "I'm researching the different types of conversational memory.",
    "Buffer memory just stores the entire conversation, right?",
    "What is my name and what do I do?",
]
# A second user, interleaved with the first, whose memory must stay apart.
OTHER_INTRODUCTION = "Hello, I am James and I write compilers."
OTHER_TURNS = [OTHER_INTRODUCTION, "Which of us are you talking to?"]

WINDOW = 4  # messages kept by the window strategies
TOKEN_BUDGET = 60  # tokens of recent messages kept by the summary-buffer strategies

SUMMARY_PROMPT = (
    "Progressively summarize the conversation, adding onto the previous summary and "
    "returning a new summary in at most three sentences. Keep names and facts about the user."
)


def count_tokens(text: str) -> int:
    """An offline token estimate (about four characters a token), as no tokenizer can be downloaded."""
    return max(1, (len(text) + 3) // 4)


def summary_request(previous: str, lines: list[str]) -> list[dict[str, str]]:
    """The messages of a summarization call: the instruction, the old summary, the new lines."""
    new_lines = "\n".join(lines)
    content = (
        f"Current summary:\n{previous or '(empty)'}\n\n"
        f"New lines of conversation:\n{new_lines}\n\nNew summary:"
    )
    return [{"role": "system", "content": SUMMARY_PROMPT}, {"role": "user", "content": content}]
