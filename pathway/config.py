"""Settings from the environment. Bad or missing values fail loudly at start-up."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "production")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _development_secret(instance_path: Path) -> str:
    """Generate a secret key once and keep it in instance/ so sessions survive restarts."""
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def database_url(instance_path: Path, env: dict[str, str]) -> str:
    """DATABASE_URL, normalised for SQLAlchemy with psycopg 3; SQLite in instance/ by default."""
    url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'pathway.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def load_config(instance_path: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the application settings from environment variables."""
    env = dict(os.environ if environ is None else environ)
    pathway_env = env.get("PATHWAY_ENV", "production")
    if pathway_env not in ENVIRONMENTS:
        raise ConfigError(f"PATHWAY_ENV must be one of {ENVIRONMENTS}, not {pathway_env!r}")
    development = pathway_env == "development"

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if not development:
            raise ConfigError(
                "SECRET_KEY is required in production: set it to a long random value "
                "(python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        secret_key = _development_secret(instance_path)
    elif len(secret_key) < 32 and not development:
        raise ConfigError("SECRET_KEY must be at least 32 characters long")

    default_base = f"http://127.0.0.1:{env.get('PORT', '5000')}" if development else ""
    public_base_url = env.get("PUBLIC_BASE_URL", default_base).rstrip("/")
    parts = urlsplit(public_base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "PUBLIC_BASE_URL must be the public address of the site, e.g. https://pathway.example.fr"
        )

    trusted_hosts = _list(env.get("TRUSTED_HOSTS", ""))
    if not trusted_hosts:
        trusted_hosts = [parts.hostname]
        if development:
            trusted_hosts += ["127.0.0.1", "localhost"]

    secure_cookies = parts.scheme == "https"
    return {
        "PATHWAY_ENV": pathway_env,
        "DEBUG": False,
        "SECRET_KEY": secret_key,
        "SECRET_KEY_FALLBACKS": _list(env.get("SECRET_KEY_FALLBACKS", "")),
        "DATABASE_URL": database_url(instance_path, env),
        "PUBLIC_BASE_URL": public_base_url,
        "TRUSTED_HOSTS": trusted_hosts,
        "TRUSTED_PROXIES": _int(env.get("TRUSTED_PROXIES", "0"), "TRUSTED_PROXIES"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Redis: keys under a prefix (several deployments may share one server), short
        # timeouts. If Redis stops answering, sign-in, password, code and passcode forms answer
        # 503 and every other page counts in its process's memory (pathway.extensions.Limiter).
        "RATELIMIT_STORAGE_OPTIONS": {
            "key_prefix": env.get("RATELIMIT_KEY_PREFIX", "pathway"),
            **(
                {"socket_timeout": 1, "socket_connect_timeout": 1}
                if env.get("RATELIMIT_STORAGE_URI", "").startswith(("redis", "rediss"))
                else {}
            ),
        },
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 512 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_NAME": "__Host-session" if secure_cookies else "session",
        "PERMANENT_SESSION_LIFETIME": _int(env.get("SESSION_HOURS", "12"), "SESSION_HOURS") * 3600,
        "SESSION_IDLE_MINUTES": _int(env.get("SESSION_IDLE_MINUTES", "30"), "SESSION_IDLE_MINUTES"),
        # Patients' sessions end once idle this long too (counted on the server, not the cookie).
        "PATIENT_SESSION_IDLE_MINUTES": _int(
            env.get("PATIENT_SESSION_IDLE_MINUTES", "60"), "PATIENT_SESSION_IDLE_MINUTES"
        ),
        # Consent changes and data exports ask for the password when it is older than this.
        "RECENT_SIGN_IN_MINUTES": _int(
            env.get("RECENT_SIGN_IN_MINUTES", "15"), "RECENT_SIGN_IN_MINUTES"
        ),
        "REMEMBER_COOKIE_DURATION": 0,
        "WTF_CSRF_TIME_LIMIT": None,
        # Shared views send Referrer-Policy: no-referrer, so browsers omit the Referer
        # that Flask-WTF's strict HTTPS check wants; the token and SameSite cookies remain.
        "WTF_CSRF_SSL_STRICT": False,
        "SMTP_HOST": env.get("SMTP_HOST", ""),
        "SMTP_PORT": _int(env.get("SMTP_PORT", "587"), "SMTP_PORT"),
        "SMTP_USER": env.get("SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env.get("SMTP_STARTTLS", "true"), "SMTP_STARTTLS"),
        "MAIL_FROM": env.get("MAIL_FROM", "Pathway <no-reply@pathway.invalid>"),
        # Where messages are written as .eml files when there is no SMTP_HOST.
        "OUTBOX_DIR": env.get("OUTBOX_DIR") or str(instance_path / "outbox"),
        "RETENTION_DAYS": _int(env.get("RETENTION_DAYS", "365"), "RETENTION_DAYS"),
        # PDF rendering runs in a separate process, stopped past this time or memory.
        "PDF_TIMEOUT_SECONDS": _int(env.get("PDF_TIMEOUT_SECONDS", "10"), "PDF_TIMEOUT_SECONDS"),
        "PDF_MEMORY_MB": _int(env.get("PDF_MEMORY_MB", "512"), "PDF_MEMORY_MB"),
        # Educators and admins see many patients: a TOTP code at sign-in (off for the local demo).
        "STAFF_2FA_REQUIRED": _bool(
            env.get("STAFF_2FA_REQUIRED", "false" if development else "true"), "STAFF_2FA_REQUIRED"
        ),
    }
