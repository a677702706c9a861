"""PDF rendering is bounded in time and memory, in a recycled process; the worker survives."""

from __future__ import annotations

import io
import os
import time

import pytest
from pypdf import PdfReader

from pathway import documents
from pathway.documents import DocumentError, render_pdf

LETTER = "<h1>Courrier</h1>" + "<p>Madame, Monsieur, voici la synthèse du programme.</p>" * 20
CSS = "body { font-family: sans-serif; } h1 { color: #123; }"


def rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def renderer_pid() -> int | None:
    process = documents._renderer.process
    return process.pid if process is not None and process.is_alive() else None


def test_a_normal_document_renders(app) -> None:
    rendered = render_pdf(LETTER, CSS)
    assert rendered.data.startswith(b"%PDF")
    assert rendered.pages == 1
    text = PdfReader(io.BytesIO(rendered.data)).pages[0].extract_text()
    assert "voici la synthèse du programme" in text
    assert renderer_pid() not in (None, os.getpid())  # rendered in another process


def test_a_5_mb_text_is_refused_at_once(app) -> None:
    started = time.monotonic()
    with pytest.raises(DocumentError) as refused:
        render_pdf("<p>" + "mot " * 1_300_000 + "</p>", CSS)
    assert refused.value.reason == "too_large"
    assert time.monotonic() - started < 1


def test_deeply_nested_markup_is_stopped_within_the_time_limit(app) -> None:
    app.config["PDF_TIMEOUT_SECONDS"] = 3
    nested = "<div>" * 20_000 + "x" + "</div>" * 20_000
    started = time.monotonic()
    with pytest.raises(DocumentError) as stopped:
        render_pdf(nested, CSS)
    assert stopped.value.reason in ("timeout", "failed")
    assert time.monotonic() - started < 6
    # The worker (this process) is unharmed and the next document renders normally.
    assert render_pdf(LETTER, CSS).pages == 1


def test_a_document_needing_too_much_memory_is_refused(app) -> None:
    app.config["PDF_MEMORY_MB"] = 16
    documents._renderer._stop()
    rows = "".join(f"<tr><td>ligne {i}</td><td>{'texte ' * 20}</td></tr>" for i in range(3000))
    with pytest.raises(DocumentError) as refused:
        render_pdf(f"<table>{rows}</table>", CSS)
    # Out of memory shows up as MemoryError, a C library's failure, or a killed renderer.
    assert refused.value.reason in ("memory", "timeout", "failed")
    app.config["PDF_MEMORY_MB"] = 512
    documents._renderer._stop()
    assert render_pdf(LETTER, CSS).pages == 1


def test_a_crashed_renderer_is_replaced(app) -> None:
    render_pdf(LETTER, CSS)
    first = renderer_pid()
    assert first is not None
    documents._renderer.process.kill()
    documents._renderer.process.join(5)
    assert render_pdf(LETTER, CSS).pages == 1
    assert renderer_pid() not in (None, first)


def test_the_renderer_is_recycled_and_the_worker_memory_stays_flat(app, monkeypatch) -> None:
    monkeypatch.setattr(documents, "RECYCLE_AFTER", 5)
    render_pdf(LETTER, CSS)
    before = rss_kib()
    pids = set()
    for _ in range(15):
        render_pdf(LETTER, CSS)
        pids.add(renderer_pid())
    assert len(pids) >= 3  # a fresh renderer every 5 documents
    assert rss_kib() - before < 4 * 1024  # the worker itself does not grow


def test_broken_markup_is_a_document_error_not_a_crash(app) -> None:
    with pytest.raises(DocumentError):
        render_pdf("<p>x</p>", "@page { size: 1e308mm; } body { font-size: 1e308px; }" * 2)
