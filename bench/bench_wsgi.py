"""Pathway for load measurements: the real app, rate limits off (one client sends everything).

It also serves /bench/noop (every hook of the app, no database) and /bench/floor/<token>:
only what every opening of the emergency card must do, with the app's own functions (verify
the token, read the share in a read transaction, write the access event, commit) and no
page. Its throughput is the ceiling of any emergency view on this stack and machine,
whatever the page costs.
"""

from pathway import create_app
from pathway.db import reading, session
from pathway.models import ShareKind
from pathway.sharing import shares
from pathway.sharing.access import record_access

app = create_app({"RATELIMIT_ENABLED": False})


@app.get("/bench/floor/<token>")
def floor(token: str) -> str:
    with reading():
        card = shares.resolve_row(token, ShareKind.EMERGENCY)
    record_access(card, card.sections, summary_version=card.summary_version)
    session.commit()
    return "recorded"


@app.get("/bench/noop")
def noop() -> str:
    return "nothing"
