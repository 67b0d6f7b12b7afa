"""A parallel suite in replay, record and rewrite mode leaves no secret, no temp file, no lost recording."""

from __future__ import annotations

import pytest

from llmtape.format.recording import parse
from tests.plugin.conftest import Project

KEY = "sk-proj-" + "Qm7Lw2" * 6  # the client's key: sent in a header, never stored
AZURE = "az" + "9fK3" * 8  # a credential in a *_KEY variable that the prompts carry

SUITE = "\n".join(
    f"""
def test_call_{n}():
    import os

    from test_chat import chat

    prompt = "question {n % 6} with " + os.environ["AZURE_OPENAI_KEY"]
    assert chat(prompt, stream={(n // 6) % 2 == 0}).startswith("You said: question")
"""
    for n in range(18)
)


def everything_written(project: Project) -> str:
    """Every file under the project but the tests themselves, as text."""
    root = project.pytester.path
    return "".join(
        p.read_text(errors="replace")
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith("test_")
    )


@pytest.mark.parametrize("workers", ["4"])
def test_replay_record_and_rewrite_in_parallel_lose_and_leak_nothing(
    project: Project, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AZURE_OPENAI_KEY", AZURE)
    project.pytester.makepyfile(test_suite=SUITE)
    project.pytester.makeini("[pytest]\naddopts = --junitxml=report.xml\n")
    outputs = []
    expected = None
    for mode in ("record", "replay", "rewrite", "replay"):
        result = project.pytester.runpytest_subprocess(
            "-n", workers, f"--llmtape-mode={mode}", "test_suite.py"
        )
        result.assert_outcomes(passed=18)
        outputs.append(result.stdout.str() + result.stderr.str())
        files = sorted(project.recordings.iterdir())
        names = [f.name for f in files]
        # Six prompts, each streamed and not: 12 distinct requests (six sent twice), 12 whole files.
        assert len(names) == 12
        assert all(n.endswith(".json") and not n.startswith(".") for n in names)
        assert expected is None or names == expected
        expected = names
        for path in files:
            parse(path.read_bytes(), path)
        if mode == "replay":
            result.stdout.fnmatch_lines(["llmtape: 18 replayed, 0 recorded, 0 missing"])
    text = everything_written(project) + "".join(outputs)
    for secret in (KEY, AZURE):
        assert secret not in text
        assert secret[:12] not in text
    assert "<AZURE_OPENAI_KEY>" in everything_written(project)
