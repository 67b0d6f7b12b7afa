"""Record/replay equivalence against the real local model (opt-in: LLMTAPE_EQUIVALENCE=1).

Starts scripts/local-llm on a free port, records every scenario into an empty directory,
stops the server, replays the scenarios from that directory, and checks that the replay
made exactly the requests the recording run made, in the same order, with no miss. The
server answers every call with fresh random ids, so follow-up turns only match their
recordings if record mode handed the application exactly what replay returns.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.llmtape(enabled=False),  # the readiness probe must reach the server
    pytest.mark.skipif(
        os.environ.get("LLMTAPE_EQUIVALENCE") != "1", reason="opt-in: set LLMTAPE_EQUIVALENCE=1"
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/models", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def local_model() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """scripts/local-llm on a free port, until the test stops it."""
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "local-llm")],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 1200  # the first start builds llama.cpp
    while time.monotonic() < deadline and not ready(url):
        time.sleep(1)
    if not ready(url):
        pytest.fail("scripts/local-llm did not start")
    yield process, url
    process.terminate()
    process.wait(timeout=30)


def run_scenarios(directory: Path, transcript: Path, base_url: str, *mode: str) -> str:
    env = {**os.environ, "OPENAI_BASE_URL": base_url, "LLMTAPE_TRANSCRIPT": str(transcript)}
    env.pop("LLMTAPE_MODE", None)
    command = [sys.executable, "-m", "pytest", "tests/scenarios", "-p", "no:cacheprovider", "-q", *mode]
    result = subprocess.run(
        [*command, "--llmtape-dir", str(directory)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


def keys(transcript: Path) -> dict[str, list[str]]:
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    return {line["test"]: line["keys"] for line in lines}


def summary(output: str) -> dict[str, int]:
    """The counts of the session's `llmtape: N replayed, N recorded, N missing` line."""
    (line,) = [line for line in output.splitlines() if line.startswith("llmtape: ") and "replayed" in line]
    return {
        name: int(count)
        for count, name in (part.split() for part in line.removeprefix("llmtape: ").split(", "))
    }


def test_scenarios_replay_exactly_what_was_recorded(
    local_model: tuple[subprocess.Popen[bytes], str], tmp_path: Path
) -> None:
    process, url = local_model
    recordings = tmp_path / "recordings"
    recorded = summary(run_scenarios(recordings, tmp_path / "record.jsonl", url, "--record"))
    process.terminate()
    process.wait(timeout=30)
    replayed = summary(run_scenarios(recordings, tmp_path / "replay.jsonl", url))
    calls = sum(len(k) for k in keys(tmp_path / "record.jsonl").values())
    assert recorded == {
        "replayed": calls - recorded["recorded"],
        "recorded": len(list(recordings.glob("*.json"))),
        "missing": 0,
    }
    assert replayed == {"replayed": calls, "recorded": 0, "missing": 0}
    assert keys(tmp_path / "replay.jsonl") == keys(tmp_path / "record.jsonl")
