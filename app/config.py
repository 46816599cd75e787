"""Configuration read from environment variables (typed), and the test configuration."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from app.core.urls import host_list

ROOT = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    """Read an integer environment variable."""
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def usable_cores() -> int:
    """The cores this process may run on (a container's or systemd's CPU set, not the whole machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_database_url() -> str:
    """The embedded default: a SQLite file in instance/."""
    return f"sqlite:///{ROOT / 'instance' / 'kamikarte.sqlite3'}"


class ConfigError(RuntimeError):
    """A production configuration that must not start; the message names the environment variable."""


@dataclass(frozen=True)
class ConfigProblem:
    """One finding of the configuration check: the variable, what is wrong, and whether it stops a start."""

    variable: str
    message: str
    fatal: bool = True


MIN_SECRET_LENGTH = 32


@dataclass
class Config:
    """Settings of one app process; every field can be set by an environment variable."""

    DATABASE_URL: str = field(default_factory=lambda: os.environ.get("DATABASE_URL") or default_database_url())
    SECRET_KEY: str = field(default_factory=lambda: os.environ.get("SECRET_KEY", ""))
    #: Key material for sealing integration passwords and tokens at rest (default: derived from SECRET_KEY, so
    #: changing SECRET_KEY then means entering those secrets again).
    SECRETS_KEY: str = field(default_factory=lambda: os.environ.get("KAMIKARTE_SECRETS_KEY", ""))
    #: Secure flag on cookies; off only for the demo served over plain HTTP on loopback.
    SESSION_COOKIE_SECURE: bool = field(default_factory=lambda: _env_bool("KAMIKARTE_COOKIE_SECURE", True))
    #: Trust X-Forwarded-* from one proxy (TLS terminated at the load balancer).
    TRUST_PROXY: bool = field(default_factory=lambda: _env_bool("KAMIKARTE_TRUST_PROXY", False))
    #: Run the outbox worker as a thread of the app (the embedded default).
    OUTBOX_WORKER_THREAD: bool = field(default_factory=lambda: _env_bool("KAMIKARTE_OUTBOX_THREAD", True))
    OUTBOX_POLL_SECONDS: float = field(default_factory=lambda: float(os.environ.get("KAMIKARTE_OUTBOX_POLL", "2")))
    OUTBOX_BASE_DELAY_SECONDS: float = field(
        default_factory=lambda: float(os.environ.get("KAMIKARTE_OUTBOX_BASE_DELAY", "5")))
    #: Seconds between pulls of the reception list from ORCA (0: no poller thread).
    ORCA_POLL_SECONDS: float = field(default_factory=lambda: float(os.environ.get("KAMIKARTE_ORCA_POLL", "5")))
    #: Seconds between polls of the labs' Web APIs (0: no lab poller thread in the app).
    LAB_POLL_SECONDS: float = field(default_factory=lambda: float(os.environ.get("KAMIKARTE_LAB_POLL", "300")))
    #: gunicorn worker processes of one web server (deploy/gunicorn.conf.py): one per core by default.
    WEB_WORKERS: int = field(default_factory=lambda: _env_int("KAMIKARTE_WEB_WORKERS", usable_cores()))
    #: Absolute session limit (hours), whatever the activity.
    SESSION_MAX_HOURS: int = field(default_factory=lambda: _env_int("KAMIKARTE_SESSION_MAX_HOURS", 12))
    #: A trusted device must give the second factor again after this many days.
    TRUSTED_DEVICE_DAYS: int = field(default_factory=lambda: _env_int("KAMIKARTE_TRUSTED_DEVICE_DAYS", 30))
    #: Where clinic exports and uploaded imports are kept (app/transfer), one folder per job.
    TRANSFER_DIR: str = field(default_factory=lambda: os.environ.get("KAMIKARTE_TRANSFER_DIR")
                              or str(ROOT / "instance" / "transfer"))
    #: Hosts partner webhooks may be sent to (https, public addresses only): names and "*.domain", comma-separated.
    WEBHOOK_HOSTS: str = field(default_factory=lambda: os.environ.get("KAMIKARTE_WEBHOOK_HOSTS", ""))
    #: Hosts of the clinic's own network or this machine (the simulators of the demo and the tests) webhooks may be
    #: sent to over plain http and at loopback or private addresses: each named, no "*.domain".
    WEBHOOK_INTERNAL_HOSTS: str = field(default_factory=lambda: os.environ.get("KAMIKARTE_WEBHOOK_INTERNAL_HOSTS", ""))
    LOCKOUT_THRESHOLD: int = 5
    LOCKOUT_MINUTES: int = 15
    TESTING: bool = False
    #: "production" for a server install (docs: README "Production"): every secret must then come from the
    #: environment, the database must be PostgreSQL and cookies secure; anything else is the single-machine default.
    ENVIRONMENT: str = field(default_factory=lambda: os.environ.get("KAMIKARTE_ENV", "").strip().lower())

    @property
    def is_production(self) -> bool:
        """Whether this process runs as a production server (KAMIKARTE_ENV=production)."""
        return self.ENVIRONMENT == "production"

    def problems(self) -> list[ConfigProblem]:
        """What is missing or unsafe in this configuration. In production each is fatal; on a single machine the
        defaults (a secret kept in instance/, SQLite) are allowed and only reported."""
        found: list[ConfigProblem] = []
        production = self.is_production
        if self.ENVIRONMENT not in ("", "production", "development"):
            found.append(ConfigProblem("KAMIKARTE_ENV", f"値「{self.ENVIRONMENT}」は使えません（production または空）"))
        if not self.SECRET_KEY:
            found.append(ConfigProblem("SECRET_KEY", "設定されていません（セッションの署名に必要。32文字以上の乱数）",
                                       fatal=production))
        elif len(self.SECRET_KEY) < MIN_SECRET_LENGTH:
            found.append(ConfigProblem("SECRET_KEY", f"短すぎます（{MIN_SECRET_LENGTH}文字以上の乱数にしてください）",
                                       fatal=production))
        if not self.SECRETS_KEY:
            found.append(ConfigProblem("KAMIKARTE_SECRETS_KEY", "設定されていません（ORCA・PACS等の接続パスワードを"
                                       "暗号化する鍵。SECRET_KEYとは別の32文字以上の乱数）", fatal=production))
        elif len(self.SECRETS_KEY) < MIN_SECRET_LENGTH:
            found.append(ConfigProblem("KAMIKARTE_SECRETS_KEY", f"短すぎます（{MIN_SECRET_LENGTH}文字以上）",
                                       fatal=production))
        if not os.environ.get("DATABASE_URL") and production:
            found.append(ConfigProblem("DATABASE_URL", "設定されていません（本番は postgresql+psycopg://… が必要）"))
        elif not self.DATABASE_URL.startswith("postgresql"):
            found.append(ConfigProblem("DATABASE_URL", "SQLiteは1台・1プロセスの構成専用です（本番はPostgreSQL）",
                                       fatal=production))
        found += self._webhook_host_problems()
        if not self.SESSION_COOKIE_SECURE:
            found.append(ConfigProblem("KAMIKARTE_COOKIE_SECURE", "オフです（HTTPS以外でもCookieが送られます）",
                                       fatal=production))
        return found

    def _webhook_host_problems(self) -> list[ConfigProblem]:
        found = []
        for variable, text, wildcards in (("KAMIKARTE_WEBHOOK_HOSTS", self.WEBHOOK_HOSTS, True),
                                          ("KAMIKARTE_WEBHOOK_INTERNAL_HOSTS", self.WEBHOOK_INTERNAL_HOSTS, False)):
            refused = host_list(text, wildcards=wildcards)[1]
            if refused:
                form = ("ホスト名・IPアドレス・*.ドメイン" if wildcards
                        else "ホスト名かIPアドレス（1台ずつ。*. は使えません）")
                found.append(ConfigProblem(variable, f"使えない項目があります: {' '.join(refused)}（{form}で書き、"
                                           "https:// やポート・パスは付けません）", fatal=self.is_production))
        return found

    def validate(self) -> None:
        """Refuse to start with a fatal problem (production only), naming every variable concerned."""
        fatal = [p for p in self.problems() if p.fatal]
        if fatal:
            raise ConfigError("起動できません: " + "; ".join(f"{p.variable}: {p.message}" for p in fatal))

    def as_flask_config(self) -> dict:
        """The values Flask and its extensions read."""
        secret = self.SECRET_KEY or _instance_secret()
        return {
            "DATABASE_URL": self.DATABASE_URL,
            "SECRET_KEY": secret,
            "SECRETS_KEY": self.SECRETS_KEY,
            "SESSION_COOKIE_SECURE": self.SESSION_COOKIE_SECURE,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_NAME": "kamikarte_session",
            "REMEMBER_COOKIE_DURATION": 0,
            "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session (12 h at most)
            "TRUST_PROXY": self.TRUST_PROXY,
            "OUTBOX_WORKER_THREAD": self.OUTBOX_WORKER_THREAD,
            "OUTBOX_POLL_SECONDS": self.OUTBOX_POLL_SECONDS,
            "OUTBOX_BASE_DELAY_SECONDS": self.OUTBOX_BASE_DELAY_SECONDS,
            "ORCA_POLL_SECONDS": self.ORCA_POLL_SECONDS,
            "LAB_POLL_SECONDS": self.LAB_POLL_SECONDS,
            "TRANSFER_DIR": self.TRANSFER_DIR,
            "WEBHOOK_HOSTS": self.WEBHOOK_HOSTS,
            "WEBHOOK_INTERNAL_HOSTS": self.WEBHOOK_INTERNAL_HOSTS,
            "SESSION_MAX_HOURS": self.SESSION_MAX_HOURS,
            "TRUSTED_DEVICE_DAYS": self.TRUSTED_DEVICE_DAYS,
            "LOCKOUT_THRESHOLD": self.LOCKOUT_THRESHOLD,
            "LOCKOUT_MINUTES": self.LOCKOUT_MINUTES,
            "TESTING": self.TESTING,
        }


def _instance_secret() -> str:
    """A secret kept in instance/ so that sessions survive restarts of a single-machine install."""
    path = ROOT / "instance" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:  # created whole, or not at all: several worker processes starting at once agree on the first one's
        descriptor = os.open(path.with_suffix(f".{os.getpid()}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(value)
        os.link(path.with_suffix(f".{os.getpid()}"), path)
    except FileExistsError:
        pass
    finally:
        path.with_suffix(f".{os.getpid()}").unlink(missing_ok=True)
    return path.read_text().strip()


@dataclass
class TestConfig(Config):
    """Settings for the test suite: no worker thread, fast back-off, plain-HTTP cookies."""

    SECRET_KEY: str = "test-secret-key-not-for-production"  # noqa: S105 — tests only
    SESSION_COOKIE_SECURE: bool = False
    OUTBOX_WORKER_THREAD: bool = False
    OUTBOX_BASE_DELAY_SECONDS: float = 0.0
    ORCA_POLL_SECONDS: float = 0
    #: The tests' webhooks: "partner.example" (a reserved name, never resolves) and their receivers on loopback.
    WEBHOOK_HOSTS: str = "partner.example"
    WEBHOOK_INTERNAL_HOSTS: str = "127.0.0.1 localhost"
    TESTING: bool = True
