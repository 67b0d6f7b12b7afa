"""Tapes active at the same time in different threads or tasks never answer each other's calls."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import openai

import llmtape
from tests.conftest import Server


def ask(base_url: str, content: str) -> str:
    with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0) as client:
        messages = [{"role": "user", "content": content}]
        return client.chat.completions.create(model="m", messages=messages).choices[0].message.content or ""


def test_two_threads_each_inside_their_own_tape(server: Server, tmp_path: Path) -> None:
    # Given a recording of "b" in dir_b, and nothing in dir_a
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    with llmtape.tape(dir_b, mode="record"):
        recorded_b = ask(server.base_url, "b")
    both_active = threading.Barrier(2, timeout=10)
    outcomes: dict[str, list[str]] = {}

    def run(name: str, directory: Path, mode: str) -> None:
        with llmtape.tape(directory, mode=mode) as tape:
            both_active.wait()
            answer = ask(server.base_url, name)
            both_active.wait()
        outcomes[name] = [c.outcome for c in tape.calls]
        assert answer.startswith(f"You said: {name}")

    # When thread a records into dir_a while thread b replays from dir_b
    threads = [
        threading.Thread(target=run, args=("a", dir_a, "record")),
        threading.Thread(target=run, args=("b", dir_b, "replay")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then each tape answered its own thread's call, from its own directory
    assert outcomes == {"a": ["recorded"], "b": ["replayed"]}
    assert len(list(dir_a.glob("*.json"))) == 1
    assert len(list(dir_b.glob("*.json"))) == 1
    assert recorded_b.startswith("You said: b")


def test_two_asyncio_tasks_each_inside_their_own_tape(server: Server, tmp_path: Path) -> None:
    async def run(name: str, both: asyncio.Barrier) -> list[str]:
        with llmtape.tape(tmp_path / name, mode="record") as tape:
            await both.wait()
            async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
                await client.chat.completions.create(model="m", messages=[{"role": "user", "content": name}])
            await both.wait()
        return [c.outcome for c in tape.calls]

    async def main() -> list[list[str]]:
        both = asyncio.Barrier(2)
        return await asyncio.gather(run("a", both), run("b", both))

    assert asyncio.run(main()) == [["recorded"], ["recorded"]]
    for name in ("a", "b"):
        (path,) = (tmp_path / name).glob("*.json")
        assert f'"content": "{name}"' in path.read_text()
