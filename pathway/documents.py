"""PDF rendering with WeasyPrint, locked down: it fetches nothing from outside the app.

Documents are built from fixed templates that receive plain, escaped values. Stylesheets
are passed as strings, images as data: URIs (QR codes), fonts come from the system.
The URL fetcher therefore allows data: URIs of bounded size and refuses everything else
(http, https, file, ftp…), so no text typed by a user can make the server fetch or embed
anything.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from dataclasses import dataclass
from functools import cache
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from flask import current_app, has_app_context, make_response
from werkzeug.wrappers import Response

logger = logging.getLogger("pathway.documents")

MAX_DATA_URI = 2 * 1024 * 1024
# Letters and cards are a few kilobytes of HTML; anything near this is not a real document.
MAX_SOURCE_CHARS = 2 * 1024 * 1024
DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_MB = 512
# A fresh renderer after this many documents (WeasyPrint grows about 0.3 MiB per render).
RECYCLE_AFTER = 50
# Extra time for the renderer's start-up (a fresh interpreter, imports, fonts) before its
# first document: about a second, more on a loaded machine. With PDF_TIMEOUT_SECONDS, it
# stays below gunicorn's worker timeout (30 s).
START_SECONDS = 15.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class DocumentError(Exception):
    """The document could not be rendered (reason: too_large, timeout, memory or failed)."""

    def __init__(self, message: str, reason: str = "failed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int


@cache
def _weasyprint() -> Any:
    import weasyprint  # slow import (about 0.7 s): only where PDFs are made

    return weasyprint


@cache
def _font_config() -> Any:
    # One FontConfiguration per process: faster renders and far less memory growth.
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def safe_fetcher() -> Any:
    """A URL fetcher that serves only bounded data: URIs and refuses everything else."""
    from weasyprint.urls import URLFetcher

    class SafeFetcher(URLFetcher):
        refused: list[str]

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=1)
            self.refused = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith("data:") or len(url) > MAX_DATA_URI:
                self.refused.append(url[:80])
                logger.warning("document fetch refused: %s", url[:40])
                raise ValueError("fetch refused")
            return super().fetch(url, headers)

    return SafeFetcher()


def _warm_up() -> None:
    """Render one tiny page so fonts and caches are loaded before the first real document."""
    _render_here(
        "<p>Pathway <b>0123</b> <i>é</i></p>",
        "body { font-family: sans-serif; } b { font-family: serif; }",
    )


def _render_here(html: str, css: str) -> RenderedPdf:
    """Render in this process (only ever called in the renderer process)."""
    weasyprint = _weasyprint()
    fetcher = safe_fetcher()
    font_config = _font_config()
    stylesheets = [weasyprint.CSS(string=css, font_config=font_config, url_fetcher=fetcher)]
    document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=None).render(
        stylesheets=stylesheets, font_config=font_config
    )
    return RenderedPdf(data=document.write_pdf(), pages=len(document.pages))


def _limits() -> tuple[float, int]:
    """(timeout in seconds, memory allowance in bytes), from the app's settings if any."""
    timeout, memory_mb = DEFAULT_TIMEOUT, DEFAULT_MEMORY_MB
    if has_app_context():
        timeout = float(current_app.config.get("PDF_TIMEOUT_SECONDS", timeout))
        memory_mb = int(current_app.config.get("PDF_MEMORY_MB", memory_mb))
    return timeout, memory_mb * 1024 * 1024


def _address_space() -> int:
    """This process's current virtual size in bytes (Linux), 0 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _die_with(parent: int) -> None:
    """Have the kernel kill this process the moment its parent (the web worker) ends.

    Without it, a worker killed by gunicorn (timeout, SIGKILL after the graceful timeout)
    would leave its renderer running, unwatched. (Strictly, the kernel watches the thread
    that started the renderer: one started from a thread that has ended since is replaced
    on the next document.)
    """
    # Ctrl-C in a terminal reaches the whole process group: the worker decides, not us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the worker still stops the renderer, and EOF on the pipe ends it
    if os.getppid() != parent:
        os._exit(0)  # the worker ended before the request above was in place


def _serve(connection: Connection, memory_allowance: int, parent: int) -> None:
    """The renderer process: warm up, cap memory, then render documents until told to stop."""
    _die_with(parent)
    try:
        _warm_up()
        # What the process maps once warm, plus a fixed allowance: a monstrous document
        # hits MemoryError here instead of swapping the server.
        cap = _address_space() + memory_allowance
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except Exception as error:
        connection.send(("failed", f"renderer start: {type(error).__name__}"))
        return
    connection.send(("ready",))
    while True:
        try:
            html, css = connection.recv()
        except (EOFError, OSError):
            return  # the parent has gone: stop
        try:
            result = _render_here(html, css)
            reply: tuple[Any, ...] = ("ok", result.data, result.pages)
        except (MemoryError, SystemError):
            # C extensions out of memory often surface as SystemError, not MemoryError.
            reply = ("memory", "the document needs too much memory")
        except RecursionError:
            reply = ("failed", "the document is nested too deeply")
        except Exception as error:
            reply = ("failed", f"{type(error).__name__}: {str(error)[:200]}")
        try:
            connection.send(reply)
        except MemoryError:
            connection.send(("memory", "the document needs too much memory"))
        if reply[0] == "memory":
            return  # the heap may be in a poor state: let the parent start a fresh one


class _Renderer:
    """One long-lived renderer process per worker, recycled after RECYCLE_AFTER documents.

    The renderer is started with the "spawn" method: a fresh interpreter that receives only
    its pipe. A forked copy of the worker would inherit the listening socket, the current
    client's connection, database connections and lock files, and gunicorn's signal
    handlers, which turn SIGTERM into "finish the current request": such a renderer kept
    the port after the server stopped, and a worker leaving (max_requests, HUP) waited for
    it until gunicorn killed the worker at its timeout, while its requests waited too.
    A fresh interpreter takes about a second to start, so the next renderer is started as
    soon as one is retired, while the document just made is on its way to the client.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner = os.getpid()
        self.process: BaseProcess | None = None
        self.connection: Connection | None = None
        self.rendered = 0
        self.ready = False

    def render(self, html: str, css: str, timeout: float, memory_allowance: int) -> RenderedPdf:
        with self.lock:
            if self.owner != os.getpid():  # inherited through a fork: not our child
                self.owner, self.process, self.connection = os.getpid(), None, None
            if self.process is None or not self.process.is_alive():
                self._stop()
                self._start(memory_allowance)
            self._wait_until_ready()
            assert self.connection is not None
            started = time.monotonic()
            try:
                self.connection.send((html, css))
                if not self.connection.poll(timeout):
                    logger.warning("PDF rendering stopped after %.1f s", time.monotonic() - started)
                    self._stop()
                    raise DocumentError("the document took too long to render", reason="timeout")
                message = self.connection.recv()
            except (EOFError, OSError, BrokenPipeError):
                # The renderer died without a word: killed for memory, or crashed.
                self._stop()
                raise DocumentError("the renderer stopped", reason="memory") from None
            self.rendered += 1
            if message[0] == "memory" or self.rendered >= RECYCLE_AFTER:
                # After memory trouble the heap may be in a poor state; after RECYCLE_AFTER
                # documents it has grown. Its successor starts now, in the background
                # (if it cannot, the next document tries again).
                self._stop()
                with contextlib.suppress(DocumentError):
                    self._start(memory_allowance)
            if message[0] != "ok":
                logger.warning("PDF rendering failed (%s): %s", message[0], message[1])
                raise DocumentError(message[1], reason=message[0])
            return RenderedPdf(data=message[1], pages=message[2])

    def _start(self, memory_allowance: int) -> None:
        """Start a renderer without waiting for it (see _wait_until_ready)."""
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe(duplex=True)
        process = context.Process(
            target=_serve,
            args=(there, memory_allowance, os.getpid()),
            daemon=True,
            name="pathway-pdf",
        )
        try:
            process.start()
        except OSError as error:
            here.close()
            raise DocumentError(f"the renderer did not start: {error}", reason="failed") from None
        finally:
            there.close()
        self.process, self.connection, self.rendered, self.ready = process, here, 0, False

    def _wait_until_ready(self) -> None:
        if self.ready:
            return
        assert self.connection is not None
        try:
            if self.connection.poll(START_SECONDS):
                ready = self.connection.recv()
            else:
                ready = ("timeout", "start-up too slow")
        except (EOFError, OSError):
            ready = ("failed", "the renderer did not start")
        if ready[0] != "ready":
            self._stop()
            raise DocumentError(ready[1], reason="failed")
        self.ready = True

    def _stop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)
            self.process.close()
        self.process, self.connection, self.ready = None, None, False

    def shutdown(self) -> None:
        """Stop this process's renderer, if it has one (a worker about to exit)."""
        with self.lock:
            if self.owner == os.getpid():
                self._stop()


_renderer = _Renderer()


def shutdown() -> None:
    """Stop the renderer of this process now (gunicorn's worker_exit hook calls it)."""
    _renderer.shutdown()


def render_pdf(html: str, css: str = "") -> RenderedPdf:
    """Render HTML (from a fixed template) and CSS (a string) to PDF bytes.

    The render runs in a separate renderer process with a memory cap (RLIMIT_AS) and a
    wall-clock timeout; it is recycled every RECYCLE_AFTER documents, so WeasyPrint's
    slow memory growth never accumulates and a pathological document costs a renderer,
    never the web worker. Raises DocumentError (reason: too_large, timeout, memory, failed).
    """
    if len(html) + len(css) > MAX_SOURCE_CHARS:
        raise DocumentError("the document is too large", reason="too_large")
    timeout, memory_allowance = _limits()
    return _renderer.render(html, css, timeout, memory_allowance)


def pdf_response(data: bytes, filename: str) -> Response:
    """Serve stored PDF bytes as a download."""
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
