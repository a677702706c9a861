"""Pathway for the soak test: rate limits off, and each response names its worker process."""

import os

from pathway import create_app

app = create_app({"RATELIMIT_ENABLED": False})
_inner = app.wsgi_app


def _with_worker(environ, start_response):
    def start(status, headers, exc_info=None):
        return start_response(status, [*headers, ("X-Worker", str(os.getpid()))], exc_info)

    return _inner(environ, start)


app.wsgi_app = _with_worker
