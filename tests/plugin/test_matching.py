"""Matching settings in the ini and the marker: volatile parts of a request stop causing misses."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import Project

VOLATILE = """
import os
import time
import uuid

import openai
import pytest


def test_volatile():
    content = f"request {uuid.uuid4()} sent at {time.time_ns()}"
    with openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="k") as client:
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": content}], user=str(uuid.uuid4())
        )
"""
INI = """[pytest]
llmtape_ignore = body.user
llmtape_placeholders =
    [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} => <uuid>
    at \\d+ => at <time>
"""


def test_ini_settings_make_a_volatile_request_replay(project: Project) -> None:
    project.pytester.makepyfile(test_volatile=VOLATILE)
    project.pytester.runpytest("test_volatile.py").assert_outcomes(failed=1)  # strict by default
    project.pytester.makeini(INI)
    project.pytester.runpytest("--record", "test_volatile.py").assert_outcomes(passed=1)
    project.pytester.runpytest("test_volatile.py").stdout.fnmatch_lines(
        ["llmtape: 1 replayed, 0 recorded, 0 missing"]
    )
    (recording,) = project.files()
    assert recording["llmtape"]["matching"] == {
        "ignore": ["body.user"],
        "placeholders": [
            ["[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>"],
            ["at \\d+", "at <time>"],
        ],
        "normalizer": None,
        "marker": None,  # the project's settings alone
    }


def test_marker_settings_and_a_normalizer_hook(project: Project) -> None:
    project.pytester.makepyfile(
        keying="def drop_user(body):\n    return {k: v for k, v in body.items() if k != 'user'}\n",
        test_volatile=VOLATILE.replace(
            "def test_volatile",
            "PLACES = {'[0-9a-f-]{36}': 'ID', '[0-9]+': 'N'}\n\n\n"
            "@pytest.mark.llmtape(normalizer='keying:drop_user', placeholders=PLACES)\ndef test_volatile",
        ),
    )
    project.pytester.runpytest("--record", "test_volatile.py").assert_outcomes(passed=1)
    project.pytester.runpytest("test_volatile.py").stdout.fnmatch_lines(
        ["llmtape: 1 replayed, 0 recorded, 0 missing"]
    )


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("llmtape_ignore = user", "ERROR: llmtape: ignored path 'user' must start with 'body'*"),
        ("llmtape_normalizer = nowhere:fn", "ERROR: llmtape: cannot load the normalizer 'nowhere:fn'*"),
    ],
)
def test_bad_matching_settings_are_usage_errors(project: Project, ini: str, message: str) -> None:
    project.pytester.makeini(f"[pytest]\n{ini}\n")
    result = project.pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
