"""Before a start: `flask --app wsgi check` reports what is missing, and production refuses to start without its
secrets, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import Config, ConfigError
from app.operations import check_transfer_dir
from tests.factories import make_clinic

ROOT = Path(__file__).resolve().parents[1]
SECRET = "x" * 40


def _production(**overrides) -> Config:
    values = {"ENVIRONMENT": "production", "SECRET_KEY": SECRET, "SECRETS_KEY": "y" * 40,
              "DATABASE_URL": "postgresql+psycopg://kamikarte@db/kamikarte", "SESSION_COOKIE_SECURE": True}
    return replace(Config(), **{**values, **overrides})


@pytest.mark.parametrize(("override", "variable"), [
    ({"SECRET_KEY": ""}, "SECRET_KEY"), ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"SECRETS_KEY": ""}, "KAMIKARTE_SECRETS_KEY"), ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL"),
    ({"SESSION_COOKIE_SECURE": False}, "KAMIKARTE_COOKIE_SECURE"),
    ({"WEBHOOK_HOSTS": "https://booking.example.jp/hook"}, "KAMIKARTE_WEBHOOK_HOSTS"),
    ({"WEBHOOK_INTERNAL_HOSTS": "*.clinic.lan"}, "KAMIKARTE_WEBHOOK_INTERNAL_HOSTS"),
])
def test_production_refuses_a_configuration_naming_the_variable(override, variable):
    with pytest.raises(ConfigError, match=variable):
        _production(**override).validate()


def test_a_complete_production_configuration_starts(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://kamikarte@db/kamikarte")
    _production().validate()


def test_the_single_machine_default_only_warns():
    config = replace(Config(), ENVIRONMENT="", SECRET_KEY="", SECRETS_KEY="", DATABASE_URL="sqlite:///x.db")
    config.validate()
    assert {p.variable for p in config.problems()} >= {"SECRET_KEY", "KAMIKARTE_SECRETS_KEY", "DATABASE_URL"}
    assert not any(p.fatal for p in config.problems())


def test_the_server_entry_point_exits_with_the_variable_name_and_writes_nothing(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "KAMIKARTE_SECRETS_KEY")}
    database = tmp_path / "never.sqlite3"
    environment.update(KAMIKARTE_ENV="production", DATABASE_URL=f"sqlite:///{database}")
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "SECRET_KEY" in result.stderr and "KAMIKARTE_SECRETS_KEY" in result.stderr
    assert "Traceback" not in result.stderr and not database.exists()


def test_check_reports_a_ready_database_and_exits_0(app):
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert "[OK ] DATABASE_URL: 接続でき、スキーマは最新です" in result.output


def test_check_names_a_pacs_without_credentials_and_exits_1(app, session):
    make_clinic(session, institution_code="1310123458",
                integrations={"pacs": {"base_url": "https://pacs.example/dicom-web", "username": "", "password": ""}})
    session.commit()
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    assert "[NG ] PACS 1310123458: ユーザー名またはパスワードが未設定です" in result.output


def test_check_reports_a_missing_or_unwritable_transfer_dir_fatal_in_production(tmp_path):
    missing = tmp_path / "nowhere"
    (line,) = check_transfer_dir(_production(TRANSFER_DIR=str(missing)))
    assert (line.subject, line.ok, line.fatal) == ("KAMIKARTE_TRANSFER_DIR", False, True)
    assert str(missing) in line.message and "ありません" in line.message
    (line,) = check_transfer_dir(_production(TRANSFER_DIR="/proc"))  # a folder nobody (root included) writes into
    assert (line.ok, line.fatal) == (False, True) and "書き込めません" in line.message
    (line,) = check_transfer_dir(replace(Config(), ENVIRONMENT="", TRANSFER_DIR=str(missing)))
    assert (line.ok, line.fatal) == (False, False), "on one machine only a warning"
    (line,) = check_transfer_dir(_production(TRANSFER_DIR=str(tmp_path)))
    assert line.ok and not list(tmp_path.iterdir()), "the probe leaves nothing behind"

