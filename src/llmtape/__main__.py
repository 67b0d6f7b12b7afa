"""``python -m llmtape``: the command-line tool."""

from llmtape.cli import run

run()
