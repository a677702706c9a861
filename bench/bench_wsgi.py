"""Pathway for load measurements: the real app, rate limits off (one client sends everything).

Besides the app's own routes it serves, in this build only, the parts of an emergency
opening on their own, so that the table shows what each costs on this stack and machine:

- /bench/noop: every hook of the app (sessions, sign-in check, language, CSRF, headers),
  no database;
- /bench/read/<token>: verify the token and read the link in a read transaction, with the
  app's own functions, and nothing else (no write, no page);
- /bench/floor/<token>: what every opening must do by specification, with the app's own
  functions (verify the token, read the link, write the access event, commit) and no page.
  No emergency view can be faster on this stack and machine, whatever its page costs;
- /bench/driver/<token>: the floor's work done with DB-API calls on the SQLite connection
  instead of SQLAlchemy's session and statements (SQLite only), beside it: what the data
  layer itself costs.
"""

import json

from pathway import create_app, tokens
from pathway.db import get_database, reading, session, utcnow
from pathway.models import ShareKind
from pathway.sharing import shares
from pathway.sharing.access import record_access

app = create_app({"RATELIMIT_ENABLED": False})


@app.get("/bench/floor/<token>")
def floor(token: str) -> str:
    with reading():
        link, _extra = shares.read_link(token, ShareKind.EMERGENCY)
    record_access(link, link.sections, summary_version=link.summary_version)
    session.commit()
    return "recorded"


@app.get("/bench/read/<token>")
def read(token: str) -> str:
    with reading():
        shares.read_link(token, ShareKind.EMERGENCY)
    return "read"


_LINK = (
    "SELECT s.id, s.audience, s.sections, s.token_version, s.revoked_at, s.expires_at,"
    " s.locked_at, p.summary_version FROM shares s JOIN patients p ON p.id = s.patient_id"
    " WHERE s.public_id = ? AND s.kind = 'emergency'"
)
_EVENT = (
    "INSERT INTO access_events (share_id, occurred_at, outcome, audience, sections,"
    " summary_version, client, viewer) VALUES (?, ?, 'shown', ?, ?, ?, '', '')"
)


@app.get("/bench/driver/<token>")
def driver(token: str) -> tuple[str, int]:
    try:
        public_id, version = tokens.unsign(tokens.Purpose.EMERGENCY, token)
    except tokens.TokenInvalid:
        return "not found", 404
    now = utcnow().replace(tzinfo=None).isoformat(" ")  # as SQLAlchemy stores it
    pooled = get_database().engine.raw_connection()
    try:
        connection = pooled.driver_connection
        found = connection.execute(_LINK, (public_id,)).fetchone()
        if found is None:
            return "not found", 404
        revoked_at, expires_at, locked_at = found[4:7]
        if found[3] != version or revoked_at or locked_at or (expires_at and expires_at <= now):
            return "gone", 410
        connection.begin_writing()
        connection.execute(_EVENT, (found[0], now, found[1], found[2], found[7]))
        connection.commit()
    finally:
        pooled.close()
    json.loads(found[2])  # the sections, as the floor has them
    return "recorded", 200


@app.get("/bench/noop")
def noop() -> str:
    return "nothing"
