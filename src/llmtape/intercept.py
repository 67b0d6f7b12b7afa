"""Interception: the one place that patches HTTP clients, through respx.

respx patches the connection pools of ``httpcore`` (under ``httpx``) and, when it is
installed, ``httpcore2`` (under ``httpx2``, the stack of ``openai`` 3.x and ``anthropic``
2.x). One router per pool library dispatches every request to the innermost active
handler; requests it does not want, and the live calls record mode makes itself, pass
through untouched.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any, Protocol

import httpx
import respx
from respx.mocks import HTTPCoreMocker, Mocker
from respx.models import AllMockedAssertionError

# Set on the requests that record mode sends to the live API, so they are not intercepted again.
LIVE = "llmtape.live"


class Handler(Protocol):
    """What an active tape offers the interceptor."""

    def intercepts(self, request: httpx.Request) -> bool: ...

    def handle(self, request: httpx.Request) -> httpx.Response: ...

    async def ahandle(self, request: httpx.Request) -> httpx.Response: ...


def _register_httpcore2() -> None:
    if "httpcore2" in Mocker.registry or importlib.util.find_spec("httpcore2") is None:
        return

    class HTTPCore2Mocker(HTTPCoreMocker):
        name = "httpcore2"
        targets = [  # noqa: RUF012 (respx declares it a list)
            "httpcore2._sync.connection.HTTPConnection",
            "httpcore2._sync.connection_pool.ConnectionPool",
            "httpcore2._sync.http_proxy.HTTPProxy",
            "httpcore2._async.connection.AsyncHTTPConnection",
            "httpcore2._async.connection_pool.AsyncConnectionPool",
            "httpcore2._async.http_proxy.AsyncHTTPProxy",
        ]


class _Router(respx.MockRouter):
    """A respx router that hands wanted requests to the active handler."""

    def __init__(self, using: str) -> None:
        super().__init__(assert_all_called=False, using=using)
        self.route().pass_through()

    def handler(self, request: httpx.Request) -> httpx.Response:
        target = self._target(request)
        if target is None:
            return super().handler(request)
        return target.handle(request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        target = self._target(request)
        if target is None:
            return await super().async_handler(request)
        return await target.ahandle(request)

    def _target(self, request: httpx.Request) -> Handler | None:
        top = _stack[-1] if _stack else None
        if top is not None and not request.extensions.get(LIVE) and top.intercepts(request):
            return top
        if self.Mocker is not None and len(self.Mocker.routers) > 1:
            # Let routers the user started with respx after us have their say.
            raise AllMockedAssertionError(f"llmtape: not intercepting {request!r}")
        return None


_stack: list[Handler] = []
_routers: list[_Router] = []
_lock = threading.Lock()


def push(handler: Handler) -> None:
    """Make ``handler`` receive intercepted requests until it is popped."""
    with _lock:
        if not _stack:
            _start()
        _stack.append(handler)


def pop(handler: Handler) -> None:
    """Stop sending requests to ``handler``; unpatch when no handler is left."""
    with _lock:
        _stack.remove(handler)
        if not _stack:
            _stop()


def backends() -> list[str]:
    """The connection-pool libraries that are patched while a handler is active."""
    _register_httpcore2()
    return [name for name in ("httpcore", "httpcore2") if name in Mocker.registry]


def _start() -> None:
    for name in backends():
        router = _Router(using=name)
        router.start()
        _routers.append(router)


def _stop() -> None:
    while _routers:
        _routers.pop().stop()


def live_extensions(request: httpx.Request) -> dict[str, Any]:
    """The extensions for the live copy of an intercepted request (timeouts kept)."""
    return {**request.extensions, LIVE: True}
