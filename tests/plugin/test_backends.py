"""Both connection-pool stacks are intercepted, with or without pytest-httpx2 installed."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import Project

BOTH_STACKS = """
import os

import groq
import openai


def test_both(llmtape):
    base = os.environ["LLM_BASE_URL"]
    with openai.OpenAI(base_url=base, api_key="k") as client:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "httpx2"}])
    with groq.Groq(base_url=base.removesuffix("/v1"), api_key="k") as client:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "httpx"}])
    assert len({c.outcome for c in llmtape.calls}) == 1
"""


@pytest.mark.parametrize("args", [[], ["-p", "no:httpx2"]], ids=["with-pytest-httpx2", "without"])
def test_httpx_and_httpx2_clients_are_both_recorded_and_replayed(project: Project, args: list[str]) -> None:
    project.pytester.makepyfile(test_both=BOTH_STACKS)
    project.pytester.runpytest_subprocess(*args, "--record", "test_both.py").stdout.fnmatch_lines(
        ["llmtape: 0 replayed, 2 recorded, 0 missing"]
    )
    project.server.stop()
    project.pytester.runpytest_subprocess(*args, "test_both.py").stdout.fnmatch_lines(
        ["llmtape: 2 replayed, 0 recorded, 0 missing"]
    )
