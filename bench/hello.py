"""The baseline: a bare Flask hello-world, served by gunicorn with the same settings as Pathway."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, world!"
