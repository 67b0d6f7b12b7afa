"""Sidecar files and unused recordings: a file goes with the last unused recording that names it, a file
that a used recording names stays, and a file that no recording names goes too."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from llmtape.cli import main
from tests.plugin.conftest import Project

SPEECH_TEST = r"""
import base64
import os

import httpx

AUDIO = b"ID3\x04\x00\xff\xfb\x90 spoken"


def test_speech():
    headers = {
        "authorization": "Bearer test-key",
        "x-test-raw": base64.b64encode(AUDIO).decode(),
        "x-test-raw-type": "audio/mpeg",
    }
    body = {"model": "tts-1", "voice": "alloy", "input": "Hello"}
    response = httpx.post(os.environ["LLM_BASE_URL"] + "/audio/speech", json=body, headers=headers)
    assert response.content == AUDIO
"""


def sidecar_file(directory: Path, content: bytes, extension: str) -> Path:
    """Write ``content`` where a sidecar of it lives in ``directory``."""
    path = directory / "files" / f"{hashlib.sha256(content).hexdigest()}{extension}"
    path.write_bytes(content)
    return path


def shown(path: Path, project: Project) -> str:
    return str(path.relative_to(project.pytester.path))


@pytest.fixture
def shared(project: Project) -> tuple[Project, dict[str, Path]]:
    """A recorded speech test (recording A, its answer sidecar X); recording B, which no test uses, naming X
    and an upload Y of its own; and a sidecar Z that no recording names."""
    (project.pytester.path / "test_chat.py").unlink()
    project.pytester.makepyfile(test_speech=SPEECH_TEST)
    project.pytester.runpytest("--record").assert_outcomes(passed=1)
    (a,) = project.recordings.glob("*.json")
    (x,) = (project.recordings / "files").iterdir()
    y = sidecar_file(project.recordings, b"uploaded \xff bytes", ".wav")
    z = sidecar_file(project.recordings, b"named by nothing", ".bin")
    recording = json.loads(a.read_text())
    part = {"name": "file", "filename": "in.wav", "content_type": "audio/wav", "file": f"files/{y.name}"}
    recording["request"]["body"] = {"__type__": "multipart", "__data__": [part]}
    assert recording["response"]["body"] == {"__type__": "file", "__data__": f"files/{x.name}"}
    b = project.recordings / ("f" * 64 + ".json")
    b.write_text(json.dumps(recording, indent=2))
    return project, {"A": a, "B": b, "X": x, "Y": y, "Z": z}


def test_the_summary_lists_an_unused_recording_and_the_files_only_it_names(
    shared: tuple[Project, dict[str, Path]],
) -> None:
    project, paths = shared
    result = project.pytester.runpytest()
    result.assert_outcomes(passed=1)
    removable = [shown(paths[name], project) for name in "YZ"]
    result.stdout.fnmatch_lines(
        [
            "llmtape: 1 unused recordings and 2 files only they name:",
            f"  {shown(paths['B'], project)}",
            *(f"  {line}" for line in sorted(removable)),
            "llmtape: delete them with pytest --llmtape-prune, or llmtape prune",
        ]
    )
    assert paths["X"].name not in result.stdout.str()
    assert all(path.exists() for path in paths.values())  # listing deletes nothing


def test_prune_deletes_them_and_keeps_what_a_used_recording_names(
    shared: tuple[Project, dict[str, Path]],
) -> None:
    project, paths = shared
    pruned = project.pytester.runpytest("--llmtape-prune")
    pruned.stdout.fnmatch_lines(["llmtape: pruned 1 unused recordings and 2 files only they named"])
    assert sorted(name for name, path in paths.items() if path.exists()) == ["A", "X"]
    # The next run replays from what is left, and finds nothing more to prune
    again = project.pytester.runpytest("--llmtape-prune")
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(
        ["llmtape: 1 replayed, 0 recorded, 0 missing", "llmtape: pruned 0 unused recordings"]
    )
    assert "files only they named" not in again.stdout.str()
    assert sorted(name for name, path in paths.items() if path.exists()) == ["A", "X"]


def test_llmtape_prune_does_the_same_from_the_usage_record(
    shared: tuple[Project, dict[str, Path]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, paths = shared
    project.pytester.runpytest().assert_outcomes(passed=1)
    monkeypatch.chdir(project.pytester.path)
    capsys.readouterr()
    assert main(["prune"]) == 0
    removable = sorted(shown(paths[name], project) for name in "YZ")
    assert capsys.readouterr().out.splitlines() == [
        f"  {shown(paths['B'], project)}",
        *(f"  {line}" for line in removable),
        "llmtape: 1 unused recordings and 2 files only they name; delete them with llmtape prune --yes",
    ]
    assert all(path.exists() for path in paths.values())
    assert main(["prune", "--yes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "llmtape: deleted 1 unused recordings and 2 files only they named"
    assert sorted(name for name, path in paths.items() if path.exists()) == ["A", "X"]


def test_a_file_an_unused_recording_shares_with_a_used_one_stays(
    shared: tuple[Project, dict[str, Path]],
) -> None:
    # Given B naming Y only (not X), and A's answer X named by A alone
    project, paths = shared
    recording = json.loads(paths["B"].read_text())
    recording["response"]["body"] = None
    paths["B"].write_text(json.dumps(recording))
    paths["Z"].unlink()
    # When the run prunes, Y goes with B, X stays with A
    project.pytester.runpytest("--llmtape-prune").stdout.fnmatch_lines(
        ["llmtape: pruned 1 unused recordings and 1 files only they named"]
    )
    assert sorted(name for name, path in paths.items() if path.exists()) == ["A", "X"]
