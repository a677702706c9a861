"""Gunicorn settings. Tokens are credentials: the access log never shows a request path."""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then: WeasyPrint's resident memory grows slowly with each render.
max_requests = 1000
max_requests_jitter = 100
accesslog = "-"
errorlog = "-"
# No %(r)s, %(U)s, %(q)s or %(f)s: the path holds the token of a shared link, and the
# referrer may too. The endpoint (route name) is added by pathway as the X-Route header.
access_log_format = '%(h)s %(t)s "%(m)s %({x-route}o)s" %(s)s %(b)s %(L)ss'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
