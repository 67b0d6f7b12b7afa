"""pytest-xdist: workers recording the same request at once leave one complete file and no temp files."""

from __future__ import annotations

import json

from tests.plugin.conftest import Project

SAME = "\n".join(
    f"""
def test_same_{n}():
    from test_chat import chat

    assert chat("everyone asks this", stream={n % 2 == 0}).startswith("You said")
"""
    for n in range(8)
)


def test_workers_racing_on_one_key_leave_one_valid_file(project: Project) -> None:
    project.pytester.makepyfile(test_same=SAME)
    for mode in ("--llmtape-mode=rewrite", "--record"):
        result = project.pytester.runpytest_subprocess("-n", "4", mode, "test_same.py")
        result.assert_outcomes(passed=8)
    files = sorted(project.recordings.iterdir())
    assert len(files) == 2  # one streamed, one not: two distinct requests
    assert all(f.suffix == ".json" and not f.name.startswith(".") for f in files)
    for path in files:
        assert json.loads(path.read_text())["response"]["status"] == 200
    replay = project.pytester.runpytest_subprocess("-n", "4", "test_same.py")
    replay.assert_outcomes(passed=8)
    replay.stdout.fnmatch_lines(["llmtape: 8 replayed, 0 recorded, 0 missing"])
