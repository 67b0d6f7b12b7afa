"""The ``llmtape`` console script: it imports the project's normalizer as pytest does (the rootdir and the
``pythonpath`` ini entries first on ``sys.path``, whatever directory the script lives in), and
``llmtape import`` reads the cassettes of the wild (tests/data/vcr-cassettes), reporting and skipping
what it cannot read, never the rest, with an exit status and a summary that say so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import vcr
import yaml

import llmtape
from llmtape.cli import main
from llmtape.format.sse import Decoder
from llmtape.format.typemap import SDK_CLASSES
from tests.conftest import ROOT, NetworkGuard, Server
from tests.fake_credentials import credentials, random_text

SCRIPT = Path(sys.executable).parent / "llmtape"
NORMALIZER = "def normalize(body):\n    return {**body, 'user': '<user>'}\n"


def explain(project: Path, *command: str) -> subprocess.CompletedProcess[str]:
    (project / "tests" / "body.json").write_text(json.dumps({"model": "m", "user": "u-123"}))
    return subprocess.run(
        [*command, "explain", "body.json", "--endpoint", "/v1/chat/completions"],
        cwd=project / "tests",  # run from a subdirectory, as people do
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("config", "module", "path"),
    [
        ("[pytest]\nllmtape_normalizer = tests.keying:normalize\n", "tests/keying.py", "tests/__init__.py"),
        (
            "[pytest]\npythonpath = src lib\nllmtape_normalizer = mypkg.keying:normalize\n",
            "src/mypkg/keying.py",
            "src/mypkg/__init__.py",
        ),
        (
            '[tool.pytest.ini_options]\npythonpath = ["src"]\n'
            'llmtape_normalizer = "mypkg.keying:normalize"\n',
            "src/mypkg/keying.py",
            "src/mypkg/__init__.py",
        ),
    ],
    ids=["rootdir", "pythonpath-ini", "pythonpath-toml"],
)
@pytest.mark.parametrize(
    "command", [[str(SCRIPT)], [sys.executable, "-m", "llmtape"]], ids=["script", "module"]
)
def test_the_cli_loads_the_normalizer_the_project_configures(
    tmp_path: Path, config: str, module: str, path: str, command: list[str]
) -> None:
    # Given a project whose pytest configuration names a normalizer of its own code
    (tmp_path / ("pyproject.toml" if "tool.pytest" in config else "pytest.ini")).write_text(config)
    for name, text in ((module, NORMALIZER), (path, "")):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "tests").mkdir(exist_ok=True)
    # When the command explains a body
    result = explain(tmp_path, *command)
    # Then it ran the normalizer
    assert result.returncode == 0, result.stderr
    assert '"user":"<user>"' in result.stdout


# llmtape import: the layouts of the wild, and what it cannot read ------------------------------------

CASSETTES = ROOT / "tests" / "data" / "vcr-cassettes"
FOREIGN = sorted(CASSETTES.rglob("*.yaml"))


class Oracle:
    """How vcrpy reads each foreign layout back: pydantic-ai's serializer turns ``parsed_body`` into JSON
    text (its tests/json_body_serializer.py ``deserialize``), and the serializers that keep bodies as YAML
    mappings dump them again; vcrpy itself reads its own layouts, old and new."""

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        cassette = yaml.safe_load(text)
        for interaction in cassette["interactions"]:
            for kind, data in interaction.items():
                body = data.get("body")
                if "parsed_body" in data:
                    dumped = json.dumps(data.pop("parsed_body"))
                    data["body"] = {"string": dumped} if kind == "response" else dumped
                elif kind == "request" and isinstance(body, dict | list):
                    data["body"] = json.dumps(body)
                elif kind == "response" and isinstance(body, dict):
                    inner = body.get("string", body.get("yaml"))
                    data["body"] = {"string": json.dumps(inner) if isinstance(inner, dict | list) else inner}
        return cassette  # type: ignore[no-any-return]

    @staticmethod
    def serialize(cassette: dict[str, Any]) -> str:
        raise AssertionError("the oracle only reads")


def sent(request: dict[str, Any]) -> tuple[str, str, bytes]:
    """The method, URL and body bytes of a cassette's request, as the oracle reads them."""
    body = request.get("body") or b""
    return request["method"], request["uri"], body if isinstance(body, bytes) else body.encode()


def payload(response: httpx.Response) -> Any:
    """What a client reads of an answer: its JSON, or its SSE events' data."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = Decoder()
        found = [*events.feed(response.content), *events.close()]
        return [json.loads(e.data) if e.data != "[DONE]" else e.data for e in found]
    return response.json()


def answers(cassette: Path, directory: Path | None) -> list[tuple[int, Any]]:
    """Each interaction's request sent again and answered by vcrpy from the cassette (``directory``
    None) or by llmtape from its imported recordings."""
    requests = [i["request"] for i in Oracle.deserialize(cassette.read_text())["interactions"]]
    player = vcr.VCR(record_mode="none")
    player.register_serializer("oracle", Oracle)
    answering = (
        player.use_cassette(str(cassette), serializer="oracle")
        if directory is None
        else llmtape.tape(directory)
    )
    got = []
    with answering, httpx.Client(headers={"content-type": "application/json"}) as client:
        for method, url, body in map(sent, requests):
            response = client.request(method, url, content=body)
            got.append((response.status_code, payload(response)))
    return got


def run_import(
    capsys: pytest.CaptureFixture[str], *command: str | Path, source: str = "vcr"
) -> tuple[int, str, str]:
    code = main(["import", "--from", source, *map(str, command)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.llmtape(enabled=False)  # vcrpy answers the oracle's requests
@pytest.mark.parametrize("cassette", FOREIGN, ids=[str(p.relative_to(CASSETTES)) for p in FOREIGN])
def test_a_foreign_layout_replays_as_vcrpy_replays_it(
    cassette: Path, tmp_path: Path, network: NetworkGuard, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a cassette in a layout of the wild (see tests/data/README.md), and what vcrpy answers from it
    network.block()
    expected = answers(cassette, None)
    # When it is imported
    code, out, err = run_import(capsys, cassette, "--dir", tmp_path)
    # Then every interaction is a recording, which llmtape replays as vcrpy did
    assert len(list(tmp_path.glob("*.json"))) == len(expected)
    assert answers(cassette, tmp_path) == expected
    assert network.attempts == []
    assert (code, err) == (0, "")
    assert f": {len(expected)} written, 0 collided, 0 skipped\n" in out


def test_foreign_layouts_are_typed_as_the_sdk_classes_that_parse_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given every foreign cassette imported
    assert run_import(capsys, CASSETTES, "--dir", tmp_path)[0] == 0
    # Then each successful answer, or each chunk of it, is typed by an SDK class, not as untyped JSON
    answers = [json.loads(path.read_text())["response"] for path in tmp_path.glob("*.json")]
    ok = [r["body"] if r["is_streaming"] else [r["body"]] for r in answers if r["status"] < 400]
    assert {chunk["__type__"] for chunks in ok for chunk in chunks} <= SDK_CLASSES
    # seven whole answers (five OpenAI, a Gemini, a Cohere), a Gemini stream of 3 chunks, an OpenAI one of 13
    assert sorted(map(len, ok)) == [1] * 7 + [3, 13]
    # And the SDK classes validate them
    assert main(["verify", "--dir", str(tmp_path)]) == 0
    assert (
        capsys.readouterr().out
        == f"llmtape: verified 10 recordings in {tmp_path}: 0 with problems (0 in all)\n"
    )


def record(directory: Path, server: Server) -> Path:
    """A cassette that vcrpy records: a streamed and a whole chat completion through the openai SDK."""
    cassette = directory / "chat.yaml"
    with (
        vcr.use_cassette(str(cassette), filter_headers=["authorization"]),
        openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0) as client,
    ):
        for stream in (True, False):
            answer = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=stream)
            list(answer) if stream else answer  # type: ignore[call-overload]
    return cassette


MESSAGES: Any = [{"role": "user", "content": "from a cassette"}]
GARBAGE = b"\x8b\x00\xff\xfe binary"


def broken(interaction: dict[str, Any], case: str) -> str:
    """Break one interaction of a real cassette as cassettes of the wild are broken; the reason expected."""
    request, response = interaction["request"], interaction["response"]
    if case == "no request":
        del interaction["request"]
    elif case == "no response":
        del interaction["response"]
    elif case == "unknown layout":
        response["answer"] = response.pop("status")
    elif case in ("undecodable body", "unknown coding"):
        response["body"]["string"] = GARBAGE
        response["headers"]["content-encoding"] = ["br" if case == "undecodable body" else "compress"]
        return "undecodable body"
    elif case == "malformed multipart":
        request["body"] = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1"  # never closed
        request["headers"] = {k: v for k, v in request["headers"].items() if k.lower() != "content-type"}
        request["headers"]["Content-Type"] = ["multipart/form-data; boundary=b"]
        return "malformed multipart"
    elif case == "empty answer":
        response["body"]["string"] = ""
    elif case == "malformed array":
        request["uri"] = request["uri"].replace("chat/completions", "models/m:streamGenerateContent")
        response["headers"]["content-type"] = ["application/json; charset=UTF-8"]
        response["body"]["string"] = '[{"candidates": []}\n,\r\n{"candidates"'
        return "undecodable body"
    elif case == "credential":
        response["body"]["string"] = response["body"]["string"].replace("You", KEY)
    return case


KEY = credentials(seed=5)["OpenAI key"]
BREAKS = [
    "no request",
    "no response",
    "unknown layout",
    "undecodable body",
    "unknown coding",
    "malformed multipart",
    "empty answer",
    "malformed array",
    "credential",
]


@pytest.mark.llmtape(enabled=False)  # vcrpy, not llmtape, records this test's traffic
@pytest.mark.parametrize("case", BREAKS)
def test_an_interaction_it_cannot_read_is_reported_and_the_others_imported(
    case: str, server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a real cassette whose first interaction (of two) is broken
    cassette = record(tmp_path / "cassettes", server)
    data = yaml.safe_load(cassette.read_text())
    reason = broken(data["interactions"][0], case)
    cassette.write_text(yaml.safe_dump(data))
    # When it is imported
    code, out, err = run_import(capsys, cassette.parent, "--dir", tmp_path / "rec")
    # Then that interaction is reported, with where, why and the fix, and the other one imported
    place = f"llmtape: skipped {cassette}, interaction 1 of 2"
    assert err.startswith(place), err
    assert err.count("llmtape: skipped") == 1
    assert "\n  fix: " in err
    assert f"1 written, 0 collided, 1 skipped (1 {reason})\n" in out
    assert code == 1
    (imported,) = [json.loads(p.read_text()) for p in (tmp_path / "rec").glob("*.json")]
    assert imported["response"]["is_streaming"] is False  # the whole answer, the second interaction
    assert KEY not in err + out


@pytest.mark.llmtape(enabled=False)
def test_a_file_that_is_not_a_cassette_is_reported_and_the_others_imported(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a real cassette among files that are no cassettes, or no cassettes llmtape reads
    cassettes = tmp_path / "cassettes"
    record(cassettes, server)
    (cassettes / "bad.yaml").write_text("interactions:\n- request: {method: POST\n")
    (cassettes / "list.yaml").write_text("answers: []\n")
    (cassettes / "old.yaml").write_text(
        "- !!python/object:vcr.request.Request\n  method: POST\n  host: api.openai.com\n"
    )
    # When the directory is imported
    code, out, err = run_import(capsys, cassettes, "--dir", tmp_path / "rec")
    # Then each is reported with its fix, and the real one imported
    assert f"llmtape: skipped {cassettes / 'bad.yaml'}: it is not YAML (" in err
    assert f"llmtape: skipped {cassettes / 'list.yaml'}: it is not a vcrpy cassette" in err
    assert f"llmtape: skipped {cassettes / 'old.yaml'}: it is a cassette of vcrpy before 1.0\n" in err
    assert "  fix: convert it with vcrpy's migration script (python -m vcr.migration PATH)" in err
    assert "2 written, 0 collided, 3 skipped (1 " in out
    assert len(list((tmp_path / "rec").glob("*.json"))) == 2
    assert code == 1


@pytest.mark.llmtape(enabled=False)
def test_a_cassette_without_an_llm_call_says_nothing_was_imported(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = tmp_path / "cassettes" / "stats.yaml"
    with vcr.use_cassette(str(cassette)):
        httpx.get(f"http://127.0.0.1:{server.port}/stats")
    code, out, err = run_import(capsys, cassette, "--dir", tmp_path / "rec")
    stats = f"GET http://127.0.0.1:{server.port}/stats"
    assert err == f"llmtape: nothing imported from {cassette}: no LLM call in it ({stats})\n"
    assert out.endswith(
        ": 0 written, 0 collided, 0 skipped, 1 left out (not LLM calls)\nllmtape: nothing was imported\n"
    )
    assert code == 1
    assert not (tmp_path / "rec").exists()
    cassette.write_text("interactions: []\nversion: 1\n")
    code, out, err = run_import(capsys, cassette, "--dir", tmp_path / "rec")
    assert err == f"llmtape: nothing imported from {cassette}: it holds no interaction\n"
    assert (code, out.splitlines()[-1]) == (1, "llmtape: nothing was imported")


def test_a_broken_llama_stack_file_is_skipped_and_the_others_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    for path in sorted((ROOT / "tests" / "data" / "llama-stack-recordings").glob("*.json"))[:2]:
        (sources / path.name).write_bytes(path.read_bytes())
    (sources / "cut.json").write_text('{"request": {"method": "POST", "url": ')
    (sources / "other.json").write_text('{"test_id": "t"}')
    code, out, err = run_import(capsys, sources, "--dir", tmp_path / "rec", source="llama-stack")
    assert f"llmtape: skipped {sources / 'cut.json'}: it is not JSON (" in err
    assert f"llmtape: skipped {sources / 'other.json'}: it is not a llama-stack recording" in err
    assert ": 2 written, 0 collided, 2 skipped (1 not JSON, 1 unknown layout)\n" in out
    assert code == 1


@pytest.mark.llmtape(enabled=False)
def test_environment_credentials_are_redacted_on_import(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = random_text(24, seed=3)
    cassette = record(tmp_path / "cassettes", server)
    data = yaml.safe_load(cassette.read_text())
    for interaction in data["interactions"]:
        request = interaction["request"]
        request["body"] = request["body"].replace("from a cassette", f"from {secret}")
    cassette.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("MY_SERVICE_API_KEY", secret)
    assert run_import(capsys, cassette, "--dir", tmp_path / "rec")[0] == 0
    stored = "".join(p.read_text() for p in (tmp_path / "rec").glob("*.json"))
    assert secret not in stored
    assert "from <MY_SERVICE_API_KEY>" in stored


@pytest.mark.llmtape(enabled=False)
def test_the_per_test_scope_keys_a_pytest_recording_cassette_by_the_test_that_recorded_it(
    server: Server,
    tmp_path: Path,
    network: NetworkGuard,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a project whose pytest-recording cassettes sit where pytest-recording puts them
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    folder = tmp_path / "tests" / "cassettes" / "test_chat"
    record(folder, server).rename(folder / "TestChat.test_ask[a.b].yaml")
    record(tmp_path / "elsewhere", server)
    monkeypatch.chdir(tmp_path / "tests")
    # When they are imported in the per-test scope
    assert run_import(capsys, tmp_path / "tests", tmp_path / "elsewhere", "--scope", "test")[0] == 0
    # Then each recording holds the node id of its test (or, for another layout, its cassette's name)
    recordings = tmp_path / "recordings"
    found = {json.loads(p.read_text())["test_id"] for p in recordings.glob("*.json")}
    node = "tests/test_chat.py::TestChat::test_ask[a.b]"
    assert found == {node, "vcr:chat"}
    # And the test replays them
    server.stop()
    network.block()
    with (
        llmtape.tape(recordings, test_id=node) as replay,
        openai.OpenAI(base_url=server.base_url, api_key="k") as client,
    ):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=False)
    assert [c.outcome for c in replay.calls] == ["replayed"]


@pytest.mark.llmtape(enabled=False)
def test_the_console_script_exits_non_zero_when_it_skipped_something(server: Server, tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    record(cassettes, server)
    (cassettes / "bad.yaml").write_text("interactions: [\n")
    result = subprocess.run(
        [str(SCRIPT), "import", "--from", "vcr", str(cassettes), "--dir", str(tmp_path / "rec")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"llmtape: skipped {cassettes / 'bad.yaml'}: it is not YAML" in result.stderr
    assert "2 written, 0 collided, 1 skipped (1 not YAML)" in result.stdout
