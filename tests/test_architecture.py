"""The structure the code promises: one writer per record, features that do not reach into
each other's routes, tags from one list."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pathway import audit

PACKAGE = Path(__file__).resolve().parent.parent / "pathway"
TEMPLATES = PACKAGE.parent / "templates"


def sources() -> dict[str, str]:
    return {str(path.relative_to(PACKAGE)): path.read_text() for path in PACKAGE.rglob("*.py")}


def test_only_the_notifications_module_creates_notifications() -> None:
    writers = {
        name
        for name, text in sources().items()
        if re.search(r"(?<!class )\bNotification\(|insert\(\s*(Notification|_NOTICES)\b", text)
    }

    assert writers == {"notifications.py"}


def test_every_audit_event_names_a_tag_of_the_one_list() -> None:
    calls = []
    for name, text in sources().items():
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
            ):
                calls.append((name, ast.unparse(node.args[0])))

    assert calls, "the audit calls were not found"
    assert [call for call in calls if not call[1].startswith("audit.Tag.")] == []
    named = {call[1].removeprefix("audit.Tag.") for call in calls}
    assert named <= set(audit.Tag.__members__)


def test_tags_keep_their_stored_values() -> None:
    assert audit.Tag.SHARE_LINK_REFUSED == "share:link:refused"
    assert all(":" in tag.value for tag in audit.Tag)


def test_no_blueprint_imports_another_blueprints_routes() -> None:
    offenders = []
    for name, text in sources().items():
        for node in ast.walk(ast.parse(text)):
            imports_routes = (
                isinstance(node, ast.ImportFrom) and node.module and "routes" in node.module
            )
            if imports_routes and name != "__init__.py":
                offenders.append((name, node.module))

    assert offenders == []


def test_no_template_is_included_if_it_happens_to_exist() -> None:
    optional = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if "ignore missing" in path.read_text()
    ]

    assert optional == []


def test_no_import_is_optional() -> None:
    assert [name for name, text in sources().items() if "except ImportError" in text] == []
