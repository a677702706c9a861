"""What the journeys share: browser set-up, French texts, sign-in, screenshots, the axe audit."""

from __future__ import annotations

import functools
import io
import re
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations
from PIL import Image
from pyzbar.pyzbar import decode

from pathway import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SKIP_MESSAGE = "end-to-end tests skipped: Debian chromium not installed (apt-get install chromium)"
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA (contrast, labels, names, language) and axe's best practices (landmarks).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

PATIENT_EMAIL = "patient@demo.pathway"
EDUCATOR_EMAIL = "educatrice@demo.pathway"
DEMO_PASSWORD = "pathway-demo-2026"


@functools.cache
def _french() -> Any:
    return Translations.load(str(ROOT / "pathway" / "translations"), ["fr"])


def fr(msgid: str, **values: Any) -> str:
    """The French text the app shows for an English msgid (the msgid itself while untranslated)."""
    text = _french().gettext(msgid)
    return text % values if values else text


def fr_her(msgid: str) -> str:
    """The French text of a sentence about the demo patient, a woman (« la patiente »)."""
    text: str = _french().pgettext("feminine", msgid)
    return text


def fr_label(lazy: Any) -> str:
    """The French text of a lazy_gettext label (section, audience), as the app shows it."""
    return fr(lazy._args[0])


@dataclass
class Server:
    """The running app: its address, the demo's printed links, where it writes mail and logs."""

    url: str
    links: dict[str, str]
    outbox: Path
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def link(self, label: str) -> str:
        """A link the demo command printed, e.g. link("GP link")."""
        assert label in self.links, f"the demo printed no '{label}:' line (it printed {self.links})"
        return self.links[label]


def demo_links(output: str) -> dict[str, str]:
    """The `Label: http…` lines the demo command prints (GP link, Emergency link)."""
    return {
        match.group(1): match.group(2)
        for match in re.finditer(r"^([A-Za-z][\w ]*? link): (https?://\S+)$", output, re.MULTILINE)
    }


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 30
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz in {seconds} s:\n{log.read_text()}")


class Phones:
    """Opens phone-sized browser contexts: each one is a separate person with their own cookies."""

    def __init__(self, browser: Any, server: Server) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[Any] = []
        self.problems: list[str] = []

    def new(self, storage_state: dict[str, Any] | None = None) -> Any:
        """A new person's phone, on a blank page."""
        context = self.browser.new_context(
            base_url=self.server.url,
            viewport=PHONE,
            screen=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="fr-FR",
            timezone_id="Europe/Paris",
            accept_downloads=True,
            storage_state=storage_state,
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        return page

    def _console(self, message: Any) -> None:
        # CSP violations surface as console errors: a page that needs an inline style is broken.
        # Statuses are checked in _response: a 410 page is expected, a missing stylesheet is not.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {message.text}")

    def _response(self, response: Any) -> None:
        request = response.request
        if (
            response.status >= 400
            and request.resource_type != "document"
            and not request.url.endswith("/favicon.ico")
        ):
            self.problems.append(f"{response.status} for {request.resource_type} {request.url}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def follow(page: Any, target: Any) -> Any:
    """Tap a link or a submit button and wait for the next page; return its response."""
    with page.expect_navigation() as navigation:
        target.click()
    return navigation.value


def sign_in(page: Any, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto("/auth/login")
    page.get_by_label(fr("Email address")).fill(email)
    page.get_by_label(fr("Password")).fill(password)
    follow(page, page.get_by_role("button", name=fr("Sign in")))
    assert "/auth/login" not in page.url, f"sign-in failed for {email}: {page.inner_text('main')}"


def screenshot(page: Any, name: str) -> Path:
    """Save the phone screen as docs/screenshots/<name>.png for the README (each run overwrites)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    png = page.screenshot(full_page=False, animations="disabled", caret="hide")
    # A 256-colour palette keeps the images small in the repository, with no visible loss.
    image = (
        Image.open(io.BytesIO(png))
        .convert("RGB")
        .quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    )
    image.save(path, optimize=True)
    return path


def run_axe(page: Any) -> list[dict[str, Any]]:
    """Run axe-core (from node_modules) in the page; return the serious and critical violations.

    The app's CSP forbids inline and injected scripts, so the audit is evaluated through the
    browser's debugging protocol instead of a <script> tag: the app's policy stays as it is.
    """
    if not AXE.exists():
        pytest.fail(
            f"axe-core is missing: run `make e2e-deps` (npm install) to get {AXE.relative_to(ROOT)}"
        )
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            });
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary).slice(0, 5),
            }));
        }""",
        AXE_TAGS,
    )
    return [v for v in results if v["impact"] in ("serious", "critical")]


def qr_text(png: bytes) -> str:
    """Decode the single QR code of an image with zbar."""
    symbols = decode(Image.open(io.BytesIO(png)))
    assert len(symbols) == 1, f"expected one QR code, zbar found {len(symbols)}"
    return symbols[0].data.decode("ascii")


def download(page: Any, link_name: str) -> bytes:
    """Tap a download link and return the file's bytes."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    path = info.value.path()
    with open(path, "rb") as file:
        return file.read()


def qr_link_of_card(page: Any) -> str:
    """The link of the patient's current emergency card, read from its QR code as a phone would."""
    page.goto("/card/")
    return qr_text(download(page, fr("QR code (PNG image)")))
