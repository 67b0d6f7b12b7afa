"""The client environments that cannot share the project's own: each installs llmtape with one set of
clients and runs the client tests that set holds (``tests/clients/conftest.py`` says which).

``main``, the project's environment (``pip install -e '.[test]'``), runs the whole suite; ``.ci/run``
then runs these sessions: ``nox -s openai2 plain``.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

# What every client test needs besides llmtape itself.
TESTING = ["pytest>=8", "pytest-xdist>=3", "pyyaml>=6", "brotli>=1.1"]

STACKS = {
    # openai 2.x on httpx: llama-index-llms-openai pins it, instructor needs its jiter, langchain-groq pins
    # groq 0.x; litellm runs here too, so that it is proven on both openai majors.
    "openai2": [
        "openai>=2.45,<3",
        "llama-index-core>=0.14",
        "llama-index-llms-openai>=0.6",
        "llama-index-embeddings-openai>=0.5",
        "instructor>=1.10",
        "langchain-groq>=1",
        "litellm>=1.80",
    ],
    # No aiohttp: google-genai's async client goes over httpx2, cohere's over httpx.
    "plain": ["google-genai>=3", "cohere>=5.15"],
}


def _run(session: nox.Session, stack: str) -> None:
    session.install("-e", ".", *TESTING, *STACKS[stack])
    session.run(
        "python",
        "-m",
        "pytest",
        "-n",
        "2",
        "tests/clients",
        *session.posargs,
        env={"LLMTAPE_TEST_STACK": stack},
    )


@nox.session
def openai2(session: nox.Session) -> None:
    """The clients that need openai 2.x: llama-index, instructor, langchain-groq, litellm."""
    _run(session, "openai2")


@nox.session
def plain(session: nox.Session) -> None:
    """google-genai and cohere without aiohttp installed."""
    _run(session, "plain")
