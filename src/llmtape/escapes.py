"""The last line: a connection to a hosted LLM API that no interceptor caught.

Every client on httpx, httpx2 or aiohttp is intercepted; a client on another HTTP stack (urllib3 and
requests, botocore, ``http.client``, websockets) would reach the network unseen. Before a connection
is made its host name is looked up, so llmtape watches the lookups (``socket.getaddrinfo``, and the
event loop's ``getaddrinfo`` for asyncio clients, where the caller's stack is still visible): a lookup
of a host in ``LLM_HOSTS`` while a tape is active is an escape. In replay mode it fails at once with
:class:`~llmtape.errors.NetworkEscape`, which SDK retry loops do not catch; in record and rewrite mode
the call goes on, unrecorded, and the run's summary names it. Lookups of any other host (a local
database, a test server) are never touched.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from llmtape.config import Mode, is_llm_host
from llmtape.context import active
from llmtape.errors import NetworkEscape

# The stacks llmtape intercepts: a lookup from one of them is llmtape's own live call (record mode),
# or a request the endpoints leave out (replay mode).
INTERCEPTED = frozenset({"httpcore", "httpcore2", "aiohttp", "botocore"})
# Known stacks, by the top-level package of a frame on the lookup's stack, nearest the caller first.
STACKS = {
    "botocore": "botocore (boto3)",
    "aiobotocore": "aiobotocore",
    "urllib3": "urllib3",
    "requests": "requests",
    "http": "http.client",
    "urllib": "urllib.request",
    "websockets": "websockets",
    "grpc": "grpc",
    "httpcore": "httpcore (httpx)",
    "httpcore2": "httpcore2 (httpx2)",
    "aiohttp": "aiohttp",
}
_PLUMBING = frozenset(
    {"socket", "asyncio", "concurrent", "threading", "selectors", "ssl", "llmtape", "anyio"}
)

_originals: dict[str, Callable[..., Any]] = {}


def install() -> None:
    """Watch host lookups from now on."""
    if _originals:
        return
    _originals["socket"] = lookup = socket.getaddrinfo
    _originals["loop"] = asyncio.BaseEventLoop.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        check(host, port, sys._getframe(1))
        return lookup(host, port, *args, **kwargs)

    async def loop_getaddrinfo(
        self: asyncio.BaseEventLoop,
        host: Any,
        port: Any,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> Any:
        # Checked here, where the caller's stack is visible; the lookup itself runs in the loop's thread
        # pool as the loop's own getaddrinfo runs it, without a second check there.
        check(host, port, sys._getframe(1))
        return await self.run_in_executor(None, lookup, host, port, family, type, proto, flags)

    socket.getaddrinfo = getaddrinfo
    asyncio.BaseEventLoop.getaddrinfo = loop_getaddrinfo  # type: ignore[method-assign]


def uninstall() -> None:
    """Stop watching."""
    if _originals:
        socket.getaddrinfo = _originals.pop("socket")
        asyncio.BaseEventLoop.getaddrinfo = _originals.pop("loop")  # type: ignore[method-assign]


def check(host: Any, port: Any, frame: FrameType | None) -> None:
    """Fail or note a lookup of a hosted LLM API's ``host`` made from ``frame``'s stack."""
    name = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host or "")
    if not is_llm_host(name):
        return
    tape = active()
    if tape is None or not tape.options.enabled or tape.options.mode is Mode.LIVE:
        return
    packages = _packages(frame)
    intercepted = bool(INTERCEPTED & set(packages))
    replay = tape.options.mode is Mode.REPLAY
    if intercepted and not replay:
        return  # llmtape's own live call, through a pool it intercepts
    message = _message(f"{name}:{port}", _stack(packages), intercepted=intercepted, replay=replay)
    tape.escaped(f"{name}:{port}", message)
    if replay:
        raise NetworkEscape(message)


def _message(place: str, stack: str, *, intercepted: bool, replay: bool) -> str:
    if not replay:
        return (
            f"llmtape: a request to {place}, a hosted LLM API, left through {stack}, which llmtape does not "
            "intercept: it reached the live API unrecorded, so replay cannot serve it"
        )
    if intercepted:
        host = place.rsplit(":", 1)[0]
        return (
            f"llmtape: a request to {place}, a hosted LLM API, was about to leave through {stack}, but no "
            "endpoint pattern intercepts it (llmtape_default_endpoints is false, or the marker says "
            "default_endpoints=False), or its client was made before llmtape started; in replay mode "
            "nothing reaches the network\n"
            f"  fix: add a pattern for it to llmtape_endpoints, like '* //{host}/*', or keep the defaults; "
            "make the client in the test"
        )
    return (
        f"llmtape: a connection to {place}, a hosted LLM API, was about to leave through {stack}, which "
        "llmtape does not intercept; in replay mode nothing reaches the network\n"
        "  fix: call the API through a client on httpx, httpx2 or aiohttp (the official SDKs are), or mock "
        "this call yourself and mark the test @pytest.mark.llmtape(enabled=False)"
    )


def _stack(packages: list[str]) -> str:
    """The client stack a lookup came from: the outermost known one, over the innermost."""
    known = [STACKS[p] for p in packages if p in STACKS]
    if not known:
        callers = [p for p in packages if p not in ("_pytest", "pytest", "pluggy", "__main__", "runpy")]
        return f"an HTTP stack llmtape does not know (called from {', '.join(callers[:3]) or 'unknown code'})"
    return known[-1] if len(known) == 1 or known[0] == known[-1] else f"{known[-1]} over {known[0]}"


def _packages(frame: FrameType | None) -> list[str]:
    """The top-level packages on the stack, nearest the lookup first, without the plumbing."""
    found: list[str] = []
    while frame is not None:
        package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        if package and package not in _PLUMBING and package not in found:
            found.append(package)
        frame = frame.f_back
    return found
