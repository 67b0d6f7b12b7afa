"""The ``llmtape`` console script imports the project's normalizer as pytest does: the rootdir and the
``pythonpath`` ini entries come first on ``sys.path``, whatever directory the script itself lives in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
