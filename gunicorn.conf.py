"""Gunicorn settings. Tokens are credentials: the access log never shows a request path."""

import os

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# A request that takes longer than this is killed (PDFs render in a bounded child process).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Load the app once in the master, then fork: a worker starts (or is recycled) in a few
# milliseconds instead of importing everything again, during which its requests would wait.
preload_app = True
# Recycle workers now and then, against any slow memory growth. PDFs, whose WeasyPrint
# memory grows with each render, are made in a renderer process recycled every 50 documents
# (pathway.documents), so this can be rare: each recycling costs the new worker a few slow
# requests, which show in the latency tail under load.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = 1000
accesslog = "-"
errorlog = "-"
# No %(r)s, %(U)s, %(q)s or %(f)s: the path holds the token of a shared link, and the
# referrer may too. The route template (/s/<token>) comes from pathway's X-Route header.
access_log_format = '%(h)s %(t)s "%(m)s %({x-route}o)s" %(s)s %(b)s %(L)ss %(p)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No shared control socket in the home directory: several instances may run side by side.
control_socket_disable = True
# Bound what a client can send before the app sees it.
limit_request_line = 4094
limit_request_fields = 100


# Openings of a shared link (a GP) or of an emergency card (a crew) are logged without the
# client's address: the application records each opening for the patient (and purges it
# after RETENTION_DAYS), while nothing ever purges the access log.
NO_ADDRESS_PREFIXES = ("/s/", "/e/")
ADDRESS_ATOMS = ("h", "{x-forwarded-for}i", "{x-real-ip}i", "{forwarded}i")


class RedactingLogger(Logger):
    """Gunicorn's own messages ("Error handling request /s/…") pass the token filter too."""

    def setup(self, cfg):  # type: ignore[no-untyped-def]
        super().setup(cfg)
        from pathway.logs import RedactTokens, install

        redactor = RedactTokens()
        install(self.error_log, redactor)
        install(self.access_log, redactor)

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        route = atoms.get("{x-route}o", "")
        if environ.get("PATH_INFO", "").startswith(NO_ADDRESS_PREFIXES) or route.startswith(
            NO_ADDRESS_PREFIXES
        ):
            for name in ADDRESS_ATOMS:
                if name in atoms:
                    atoms[name] = "-"
        return atoms


logger_class = RedactingLogger


def when_ready(server):  # type: ignore[no-untyped-def]
    """In the master, once: what each forked worker would otherwise do on its first requests."""
    app = server.app.wsgi()
    if "pathway.db" in getattr(app, "extensions", {}):
        from pathway import warm_up

        warm_up(app)


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    """A worker never uses a database connection opened by the master (preload_app)."""
    database = getattr(worker.app.wsgi(), "extensions", {}).get("pathway.db")
    if database is not None:
        database.engine.dispose(close=False)


def worker_exit(server, worker):  # type: ignore[no-untyped-def]
    """A worker leaving (max_requests, HUP, TERM) stops its PDF renderer first, at once."""
    from pathway import documents

    documents.shutdown()
