"""Replay speed and memory: llmtape against a bare respx route (the floor) and vcrpy (pytest-recording).

    python benchmarks/run.py [--rounds 3] [--quick] [--workloads abcd] [--before OTHER_CHECKOUT/src]

Every contender replays the same traffic, recorded beforehand against the test server of
tests/servers (llmtape by its record mode, vcrpy by itself). Each run is a pytest process of its
own; the table gives medians over the rounds of the time spent inside the tests, the whole
process time, the ratios to the two floors, to vcrpy and (with --before) to an earlier llmtape, and
the process's peak memory.

Workloads: (a) one test, 300 streamed chat completions of about 200 chunks, read as raw SSE lines
through an httpx2 client; (b) the same through the openai SDK; (c) 300 tests of one call each;
(d) start-up and one replayed call with 100,000 recordings in the directory, against 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import start_server  # noqa: E402

TEST_TEMPLATE = """
import os
import time

import httpx2
import openai
import pytest
{imports}

URL = os.environ["BENCH_URL"]
WORDS = int(os.environ["BENCH_WORDS"])


def body(i):
    words = " ".join(f"w{{i}}-{{j}}" for j in range(WORDS))
    return {{"model": "m", "stream": True, "messages": [{{"role": "user", "content": words}}]}}


def raw_call(client, i):
    with client.stream("POST", URL + "/chat/completions", json=body(i), headers={{"authorization": "Bearer k"}}) as r:
        return sum(1 for line in r.iter_lines() if line)


def sdk_call(client, i):
    stream = client.chat.completions.create(**body(i))
    return sum(1 for chunk in stream)


def timed(function):
    start = time.perf_counter()
    result = function()
    with open(os.environ["BENCH_OUT"], "a") as out:
        out.write(f"{{time.perf_counter() - start}}\\n")
    return result

{fixture}

{tests}
"""

FLOOR_FIXTURE = """
import httpx
import respx
from httpx import Response
from respx.mocks import HTTPCoreMocker, Mocker

if "httpcore2" not in Mocker.registry:  # respx mocks httpcore; httpx2 clients sit on httpcore2

    class HTTPCore2Mocker(HTTPCoreMocker):
        name = "httpcore2"
        targets = [target.replace("httpcore.", "httpcore2.", 1) for target in HTTPCoreMocker.targets]


EVENTS = [line.encode() + b"\\n\\n" for line in open(os.environ["BENCH_FLOOR"]).read().split("\\n\\n") if line]
PIECES = {pieces}


class Pieces(httpx.SyncByteStream):
    def __iter__(self):
        yield from PIECES


@pytest.fixture(autouse=True)
def floor():
    with respx.mock(using="httpcore2", assert_all_called=False) as mock:
        mock.post(URL + "/chat/completions").mock(
            side_effect=lambda request: Response(200, headers={"content-type": "text/event-stream"}, stream=Pieces())
        )
        yield
"""

TESTS = {
    "a": """
{marker}
def test_stream():
    client = httpx2.Client()
    assert timed(lambda: [raw_call(client, i) for i in range(300)])
""",
    "b": """
{marker}
def test_stream():
    client = openai.OpenAI(base_url=URL, api_key="k", max_retries=0)
    assert timed(lambda: [sdk_call(client, i) for i in range(300)])
""",
    "c": """
@pytest.mark.parametrize("i", range(300))
{marker}
def test_one(i):
    client = httpx2.Client()
    assert timed(lambda: raw_call(client, i))
""",
    "d": """
{marker}
def test_one():
    client = httpx2.Client()
    assert timed(lambda: raw_call(client, 0))
""",
}
WORDS = {"a": 200, "b": 200, "c": 20, "d": 20}


# The floors: a bare respx route serving pre-built bytes, no storage, no lookup. "floor" serves a whole
# body as one piece; "floor/event" serves the same bytes one piece per event, as event-by-event replay must.
FLOORS = {"floor": '[b"".join(EVENTS)]', "floor/event": "EVENTS"}


def write_test(folder: Path, workload: str, contender: str) -> Path:
    marker = "@pytest.mark.vcr" if contender == "vcrpy" else ""
    fixture = FLOOR_FIXTURE.replace("{pieces}", FLOORS[contender]) if contender in FLOORS else ""
    text = TEST_TEMPLATE.format(imports="", fixture=fixture, tests=TESTS[workload].format(marker=marker))
    path = folder / f"test_bench_{workload}_{contender.replace('/', '_')}.py"
    path.write_text(text)
    return path


def plugins(contender: str) -> list[str]:
    if contender == "llmtape":
        return ["-p", "no:recording"]
    if contender == "vcrpy":
        return ["-p", "no:llmtape", "-p", "no:httpx2"]
    return ["-p", "no:llmtape", "-p", "no:recording"]  # the floors


def pytest_run(
    folder: Path, test: Path, contender: str, extra: list[str], env: dict[str, str]
) -> tuple[float, float, float]:
    """(time inside the tests, whole process time, peak memory in MiB) of one pytest process."""
    out = folder / "inside.txt"
    out.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-o",
        "addopts=",
        *plugins(contender),
        *extra,
        str(test),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=folder,
        env={**env, "BENCH_OUT": str(out)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    whole = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"benchmark run failed: {' '.join(command)}\n{output.decode()[-3000:]}")
    inside = sum(float(line) for line in out.read_text().split())
    return inside, whole, usage.ru_maxrss / 1024


def prepare(folder: Path, workload: str, env: dict[str, str]) -> None:
    """Record the workload's traffic with llmtape and with vcrpy, and write the floor's bytes."""
    for contender, extra in (
        ("llmtape", ["--record", "--llmtape-dir", "recordings"]),
        ("vcrpy", ["--record-mode=once"]),
    ):
        test = write_test(folder, workload, contender)
        pytest_run(folder, test, contender, extra, env)
    sys.path.insert(0, str(ROOT / "src"))
    import orjson

    from llmtape.format.chunks import stream_bytes

    first = orjson.loads(next((folder / "recordings").glob("*.json")).read_bytes())
    (folder / "floor.sse").write_bytes(b"".join(stream_bytes(first["response"])))


def fill(directory: Path, count: int) -> None:
    """Add ``count`` recordings that no test asks for: a real one cut to its first chunk, under other names."""
    import orjson

    recording = orjson.loads(next(directory.glob("*.json")).read_bytes())
    recording["response"]["body"] = recording["response"]["body"][:1]
    source = orjson.dumps(recording)
    for number in range(count):
        (directory / f"{number:064x}.json").write_bytes(source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="workloads a and c only, one round")
    parser.add_argument(
        "--before",
        type=Path,
        metavar="SRC",
        help="also measure the llmtape package in this src/ directory (an earlier version), as 'llmtape@before'",
    )
    parser.add_argument("--workloads", default="abcd", help="which workloads to run, e.g. ac (default: all)")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    server = start_server()
    rows = []
    try:
        for workload in [w for w in ("a", "b", "c", "d") if w in ("ac" if args.quick else args.workloads)]:
            folder = Path(tempfile.mkdtemp(prefix=f"llmtape-bench-{workload}-"))
            env = {
                **os.environ,
                "BENCH_URL": server.base_url,
                "BENCH_WORDS": str(WORDS[workload]),
                "BENCH_FLOOR": str(folder / "floor.sse"),
                "PYTHONPATH": str(ROOT),
            }
            # The earlier version replays the recordings this one made: the format is the same.
            before = (
                {**env, "PYTHONPATH": os.pathsep.join([str(args.before), str(ROOT)])} if args.before else None
            )
            prepare(folder, workload, env)
            contenders = ["llmtape", *(["llmtape@before"] if before else []), "floor", "floor/event", "vcrpy"]
            if workload == "d":
                contenders = ["llmtape (1 recording)", "llmtape (100,000 recordings)"]
            results: dict[str, list[tuple[float, float, float]]] = {c: [] for c in contenders}
            for _ in range(rounds):
                for contender in contenders:
                    if (
                        contender == "llmtape (100,000 recordings)"
                        and len(list((folder / "recordings").iterdir())) < 1000
                    ):
                        fill(folder / "recordings", 100_000)
                    name = contender.split(" ")[0].removesuffix("@before")
                    test = write_test(folder, workload, name)
                    extra = ["--llmtape-dir", "recordings"] if name == "llmtape" else ["--record-mode=none"]
                    if name in FLOORS:
                        extra = []
                    runs_env = before if before and contender.endswith("@before") else env
                    results[contender].append(pytest_run(folder, test, name, extra, runs_env))
            for contender, runs in results.items():
                inside = statistics.median(r[0] for r in runs)
                whole = statistics.median(r[1] for r in runs)
                memory = max(r[2] for r in runs)
                rows.append((workload, contender, inside, whole, memory))
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        server.stop()
    report(rows)


def report(rows: list[tuple[str, str, float, float, float]]) -> None:
    by = {(w, c): (i, p) for w, c, i, p, _ in rows}

    def ratio(workload: str, contender: str, inside: float, to: str) -> str:
        base = by.get((workload, to))
        return f"{inside / base[0]:.2f}x" if base and contender != to else "-"

    print(
        f"{'workload':8} {'contender':30} {'in tests':>10} {'process':>9} {'/floor':>8} {'/event':>8} "
        f"{'/vcrpy':>8} {'/before':>8} {'peak MiB':>9}"
    )
    for workload, contender, inside, whole, memory in rows:
        targets = ("floor", "floor/event", "vcrpy", "llmtape@before")
        ratios = [ratio(workload, contender, inside, to) for to in targets]
        print(
            f"{workload:8} {contender:30} {inside:9.3f}s {whole:8.2f}s {ratios[0]:>8} {ratios[1]:>8} "
            f"{ratios[2]:>8} {ratios[3]:>8} {memory:9.0f}"
        )


if __name__ == "__main__":
    main()
