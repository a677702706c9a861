"""Pathway benchmarks: one table, every figure beside a baseline measured in the same run.

    make bench            (BENCH_SECONDS=10 per load run by default)

(a) emergency and recipient views under gunicorn (2 sync workers, 32 connections) beside a
    bare Flask hello-world served the same way; (b) a letter's PDF render beside a bare
    WeasyPrint render of the same HTML, and an issued letter's download beside a render;
    (d) QR code, wallet card and lock-screen image beside bare qrcode, WeasyPrint and Pillow.
The scale comparison (c) is bench/scale.py (make bench-scale).
"""

from __future__ import annotations

import io
import os
from typing import Any

from common import (
    Table,
    demo_site,
    free_port,
    get,
    gunicorn,
    load,
    machine,
    median_seconds,
)

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "10"))


def in_process_app(env: dict[str, str]) -> Any:
    from pathway import create_app

    names = ("PATHWAY_ENV", "SECRET_KEY", "DATABASE_URL", "PUBLIC_BASE_URL", "OUTBOX_DIR")
    config: dict[str, Any] = {name: env[name] for name in names}
    config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    return create_app(config)


def web_rows(table: Table, env: dict[str, str], port: int, links: dict[str, str]) -> None:
    hello_port = free_port()
    with gunicorn("bench.hello:app", hello_port, env):
        hello = load(hello_port, "/", SECONDS)
    table.add(
        "Hello-world (gunicorn, 2 workers, 32 conn.)",
        f"{hello.requests_per_second:.0f} req/s, "
        f"p50 {hello.p50_ms:.1f} ms, p99 {hello.p99_ms:.1f} ms",
        "itself",
        "",
        1.0,
        f"load tool: {hello.tool}",
    )
    emergency = links.get("Emergency link")

    # The targets are for the emergency view; the others are measured beside it.
    def part(prefix: str) -> str | None:  # a part of the emergency opening (bench_wsgi.py)
        return emergency.replace("/e/", prefix, 1) if emergency else None

    views = (
        ("Emergency view /e/<token>", emergency, True),
        ("Recipient view /s/<token>", links.get("GP link"), False),
        ("App route that does nothing (every hook, no query)", "/bench/noop", False),
        ("Link read only: token + share read, no write, no page", part("/bench/read/"), False),
        (
            "Floor: token + share read + access event + commit, no page",
            part("/bench/floor/"),
            False,
        ),
        ("The floor with DB-API calls instead of SQLAlchemy", part("/bench/driver/"), False),
    )
    with gunicorn("bench.bench_wsgi:app", port, env):
        for label, path, targeted in views:
            status = get(port, path)[0] if path else None
            if status != 200:
                table.add(
                    label,
                    f"not measured (link {'missing' if path is None else status})",
                    "hello-world",
                    "",
                    None,
                )
                continue
            result = load(port, path, SECONDS)
            table.add(
                f"{label} throughput",
                f"{result.requests_per_second:.0f} req/s ({result.errors} errors)",
                "hello-world req/s",
                f"{hello.requests_per_second:.0f}",
                result.requests_per_second / hello.requests_per_second,
                ">= 0.40" if targeted else "",
            )
            table.add(
                f"{label} latency p50 / p99",
                f"{result.p50_ms:.1f} / {result.p99_ms:.1f} ms",
                "hello-world p99",
                f"{hello.p99_ms:.1f} ms",
                result.p99_ms / hello.p99_ms if hello.p99_ms else None,
                "p99 <= 50 ms" if targeted else "",
            )


def letter_rows(table: Table, app: Any) -> None:
    try:
        from pathway.letters import service as letters
    except ImportError:
        table.add("Letter PDF render", "not measured (no letters package)", "", "", None)
        return
    import weasyprint
    from sqlalchemy import select

    from pathway.db import session
    from pathway.demo import PATIENT_EMAIL
    from pathway.models import Letter, LetterKind, User

    with app.test_request_context():
        patient = session.scalar(select(User).where(User.email == PATIENT_EMAIL)).patient
        enrollment = patient.enrollments[0]
        educator = enrollment.programme.educators[0]
        values = letters._compose(enrollment, LetterKind.START, educator, False, origin=None)
        html = letters.render_letter_html(values, standalone=True)
        css = letters.letter_css()
        ours = median_seconds(lambda: letters._render(values), REPEAT)
        # The educator's preview: the first visit renders the PDF to count its pages; a visit
        # with nothing changed in the letter finds the count by the HTML's digest.
        letters._PAGES.clear()
        first = median_seconds(
            lambda: (
                letters._PAGES.clear(),
                letters.preview_letter(enrollment, LetterKind.START, educator),
            ),
            REPEAT,
        )
        again = median_seconds(
            lambda: letters.preview_letter(enrollment, LetterKind.START, educator), REPEAT
        )
        table.add(
            "Letter preview, letter unchanged since the last visit",
            f"{again * 1000:.1f} ms",
            "the same preview rendering the PDF",
            f"{first * 1000:.0f} ms",
            again / first,
            "<= 15 ms",
        )

        def bare() -> bytes:
            return weasyprint.HTML(string=html).write_pdf(stylesheets=[weasyprint.CSS(string=css)])

        theirs = median_seconds(bare, REPEAT)
        table.add(
            "Letter PDF render (template, QR, renderer process)",
            f"{ours * 1000:.0f} ms",
            "bare WeasyPrint, same HTML",
            f"{theirs * 1000:.0f} ms",
            ours / theirs,
            "<= 1.3",
        )
        letter = session.scalar(
            select(Letter).where(Letter.enrollment_id == enrollment.id).limit(1)
        )
        educator_email = educator.email
        public_id = letter.public_id if letter is not None else None
    if public_id is None:
        table.add("Issued letter download", "not measured (no issued letter)", "", "", None)
        return
    client = app.test_client()
    from pathway.demo import DEMO_PASSWORD

    client.post(
        "/auth/login",
        data={"email": educator_email, "password": DEMO_PASSWORD},
        base_url="http://127.0.0.1",
    )

    def download() -> None:
        response = client.get(f"/team/letters/{public_id}.pdf", base_url="http://127.0.0.1")
        assert response.status_code == 200 and response.data.startswith(b"%PDF"), (
            response.status_code
        )

    fetched = median_seconds(download, REPEAT * 5)
    table.add(
        "Issued letter download (stored bytes, HTTP)",
        f"{fetched * 1000:.1f} ms",
        "letter render",
        f"{ours * 1000:.0f} ms",
        ours / fetched,
        "render/download >= 50",
    )


def card_rows(table: Table, app: Any) -> None:
    try:
        from pathway.cards import card, lockscreen, qr
        from pathway.cards.facts import card_facts
        from pathway.cards.service import current_card
    except ImportError:
        table.add("QR, wallet card, lock screen", "not measured (no cards package)", "", "", None)
        return
    import qrcode
    import weasyprint
    from PIL import Image
    from sqlalchemy import select

    from pathway.db import session
    from pathway.demo import PATIENT_EMAIL
    from pathway.models import User
    from pathway.sharing.shares import share_url

    with app.test_request_context():
        patient = session.scalar(select(User).where(User.email == PATIENT_EMAIL)).patient
        share = current_card(patient)
        if share is None:
            table.add("QR, wallet card, lock screen", "not measured (no demo card)", "", "", None)
            return
        url = share_url(share)
        facts = card_facts(share)

        def bare_qr() -> bytes:
            buffer = io.BytesIO()
            qrcode.make(url).save(buffer)
            return buffer.getvalue()

        ours, theirs = (
            median_seconds(lambda: qr.qr_png(url), REPEAT * 3),
            median_seconds(bare_qr, REPEAT * 3),
        )
        table.add(
            "QR code PNG",
            f"{ours * 1000:.1f} ms",
            "bare qrcode.make",
            f"{theirs * 1000:.1f} ms",
            ours / theirs,
        )
        html, css = card.render_card_html(facts, url), card.card_css()
        ours = median_seconds(lambda: card.render_card(facts, url), REPEAT)
        theirs = median_seconds(
            lambda: weasyprint.HTML(string=html).write_pdf(
                stylesheets=[weasyprint.CSS(string=css)]
            ),
            REPEAT,
        )
        table.add(
            "Wallet card PDF",
            f"{ours * 1000:.0f} ms",
            "bare WeasyPrint, same HTML",
            f"{theirs * 1000:.0f} ms",
            ours / theirs,
        )
        image = lockscreen.render_lockscreen(facts, url)
        size = Image.open(io.BytesIO(image)).size

        def blank() -> bytes:
            buffer = io.BytesIO()
            Image.new("RGB", size, "white").save(buffer, format="PNG")
            return buffer.getvalue()

        ours = median_seconds(lambda: lockscreen.render_lockscreen(facts, url), REPEAT)
        theirs = median_seconds(blank, REPEAT)
        table.add(
            f"Lock-screen image PNG {size[0]}x{size[1]}",
            f"{ours * 1000:.0f} ms",
            "blank Pillow PNG, same size",
            f"{theirs * 1000:.0f} ms",
            ours / theirs,
        )


def main() -> None:
    port = free_port()
    with demo_site("pathway-bench-", port) as (env, links, _tmp):
        table = Table()
        web_rows(table, env, port, links)
        app = in_process_app(env)
        with app.app_context():
            letter_rows(table, app)
            card_rows(table, app)
    print(f"Machine: {machine()}")
    print(f"Load runs: {SECONDS} s each; timings: median of {REPEAT}+ runs\n")
    print(table.render())


if __name__ == "__main__":
    main()
