"""Tokens never reach a log line: the redaction filter, on messages and tracebacks."""

from __future__ import annotations

import io
import logging
import secrets

from sqlalchemy import select

from pathway import audit, tokens
from pathway.logs import RedactTokens, redact
from pathway.models import AuditEvent


def capture(logger_name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactTokens())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    return logger, stream


def test_signed_tokens_are_masked_in_messages_and_arguments(app) -> None:
    share = tokens.sign(tokens.Purpose.SHARE, secrets.token_urlsafe(16), 3)
    reset = tokens.sign(tokens.Purpose.PASSWORD_RESET, secrets.token_urlsafe(16), 7)
    logger, stream = capture("pathway.test-redaction")
    logger.warning("opened /s/%s from a phone", share)
    logger.warning("reset link %s sent", reset)
    logger.info(f"inline {share} in an f-string")
    logger.info("query ?next=/auth/reset/%s&x=1", reset)
    output = stream.getvalue()
    for token in (share, reset):
        assert token not in output
        assert token[:12] not in output
    assert output.count("[token]") >= 4
    assert "opened /s/[token] from a phone" in output


def test_tokens_are_masked_in_tracebacks(app) -> None:
    token = tokens.sign(tokens.Purpose.EMERGENCY, secrets.token_urlsafe(16), 1)
    logger, stream = capture("pathway.test-traceback")
    try:
        raise ValueError(f"bad link /e/{token}")
    except ValueError:
        logger.exception("incident abc123 on %s", "emergency.view")
    output = stream.getvalue()
    assert "Traceback" in output and "ValueError: bad link /e/[token]" in output
    assert token[:12] not in output


def test_garbled_link_paths_and_random_ids_are_masked() -> None:
    public_id = secrets.token_urlsafe(16)
    garbled = secrets.token_urlsafe(32)
    text = f"GET /s/{garbled} /e/short /auth/invitation/{public_id}?a=b share={public_id}"
    masked = redact(text)
    assert garbled[:12] not in masked and public_id[:12] not in masked
    assert masked.startswith("GET /s/[token] /e/[token] /auth/invitation/[token]?a=b")


def test_ordinary_words_and_audit_tags_stay_readable() -> None:
    text = 'audit {"tag": "auth:2fa:recovery-codes-replaced", "actor": 12} ProgrammingError'
    assert redact(text) == text


def test_the_app_log_handler_redacts_records_of_every_pathway_module(app) -> None:
    token = tokens.sign(tokens.Purpose.SHARE, secrets.token_urlsafe(16), 1)
    handler = next(
        h for h in logging.getLogger("pathway").handlers if isinstance(h, logging.StreamHandler)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logging.getLogger("pathway.sharing").warning("resolving %s", token)
        app.logger.error("app logger got /s/%s", token)
    finally:
        handler.setStream(previous)
    output = stream.getvalue()
    assert "resolving [token]" in output and "app logger got /s/[token]" in output
    assert token[:12] not in output


def test_audit_lines_name_links_by_a_keyed_reference_that_the_cli_gives(app, db) -> None:
    first, second = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    handler_stream = io.StringIO()
    handler = logging.StreamHandler(handler_stream)
    handler.addFilter(RedactTokens())
    audit.logger.addHandler(handler)
    try:
        audit.record(audit.Tag.SHARE_LINK_REVOKED, patient_id=1, share=first)
        audit.record(audit.Tag.SHARE_LINK_REFUSED, patient_id=1, share=first, reason="revoked")
        audit.record(audit.Tag.SHARE_LINK_REVOKED, patient_id=1, share=second)
    finally:
        audit.logger.removeHandler(handler)
    lines = handler_stream.getvalue().splitlines()
    reference = audit.log_reference(first)
    assert reference.startswith("ref-") and len(reference) == 16
    assert [reference in line for line in lines] == [True, True, False]
    assert audit.log_reference(second) in lines[2]
    assert "[token]" not in handler_stream.getvalue()  # nothing left for the filter to mask
    assert not any(public_id in line for line in lines for public_id in (first, second))
    # The audit rows keep the public ids; the command-line tool gives the reference.
    stored = db.scalars(select(AuditEvent.details).where(AuditEvent.tag == "share:link:refused"))
    assert stored.one()["share"] == first
    # "--": a random public id may begin with "-", which is not an option.
    result = app.test_cli_runner().invoke(args=["log-reference", "--", first])
    assert result.exit_code == 0 and result.output.strip() == reference


def test_log_references_depend_on_the_secret_key(app) -> None:
    public_id = secrets.token_urlsafe(16)
    reference = audit.log_reference(public_id)
    app.config["SECRET_KEY"] = "another secret key, at least 32 characters long"
    assert audit.log_reference(public_id) != reference


def test_a_random_id_without_a_digit_is_masked_and_a_long_camel_case_name_is_not() -> None:
    masked = redact("share=XguaeCcMzZfhktCFmMzCBg InvalidRequestErrorSomethingLong")
    assert masked == "share=[token] InvalidRequestErrorSomethingLong"
