"""``llmtape rehash`` on recordings a test made under its marker's matching settings."""

from __future__ import annotations

import pytest

from llmtape.cli import main
from tests.plugin.conftest import Project

MARKED = """
import os
import uuid

import openai
import pytest


@pytest.mark.llmtape(placeholders={"[0-9a-f-]{36}": "ID"})
def test_marked():
    with openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="k") as client:
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"call {uuid.uuid4()}"}], user=str(uuid.uuid4())
        )
"""


def test_rehash_keys_a_recording_with_its_markers_settings(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a recording made under a marker's placeholders, in a project with no settings of its own
    project.pytester.makepyfile(test_marked=MARKED)
    project.pytester.makeini("[pytest]\n")
    project.pytester.runpytest("--record", "test_marked.py").assert_outcomes(passed=1)
    monkeypatch.chdir(project.pytester.path)
    # When rehash runs, the key its test computes is the one it keeps
    assert main(["rehash"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "llmtape: re-keyed 0 recordings, 0 collisions"
    assert main(["verify", "--no-schema"]) == 0
    project.pytester.runpytest("test_marked.py").assert_outcomes(passed=1)
    # And after the project's settings change, rehash keys it with the project's and the marker's
    project.pytester.makeini("[pytest]\nllmtape_ignore = body.user\n")
    assert main(["verify", "--no-schema"]) == 1  # replay would miss: verify says so
    assert "run `llmtape rehash`" in capsys.readouterr().out
    assert main(["rehash"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "llmtape: re-keyed 1 recordings, 0 collisions"
    (recording,) = project.files()
    assert recording["llmtape"]["matching"]["ignore"] == ["body.user"]
    assert recording["llmtape"]["matching"]["marker"]["placeholders"] == [["[0-9a-f-]{36}", "ID"]]
    assert main(["verify", "--no-schema"]) == 0
    project.pytester.runpytest("test_marked.py").assert_outcomes(passed=1)
