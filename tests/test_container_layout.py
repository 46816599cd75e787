"""What can be checked here of the container layout (no Docker engine on this machine): deploy/compose.yaml parses,
every Kamikarte service runs exactly the command of the systemd unit it mirrors (only the address it listens on
differs), every variable it sets is one app.config.Config reads, secrets come from the environment with no default,
and the image's own command is the web unit's. Untested: building the image and running the containers (README)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from app import config as app_config
from app import create_app
from scripts.run_demo import WORKER_COMMANDS

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
KAMIKARTE_IMAGE = "kamikarte:latest"
SECRETS = ("SECRET_KEY", "KAMIKARTE_SECRETS_KEY")


def _scalar(text: str):
    text = text.strip()
    if text.startswith(("[", '"')):
        return json.loads(text)
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    return text


def parse_yaml(source: str):
    """The block-style subset of YAML the compose file uses (mappings, `- item` lists, JSON-style flow lists and
    quoted scalars, full-line comments); PyYAML is not among the project's packages."""
    lines = [(len(line) - len(line.lstrip(" ")), line.strip()) for line in source.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]

    def block(start: int, indent: int):
        if lines[start][1].startswith("- "):
            items = []
            while start < len(lines) and lines[start][0] == indent and lines[start][1].startswith("- "):
                items.append(_scalar(lines[start][1][2:]))
                start += 1
            return items, start
        mapping: dict = {}
        while start < len(lines) and lines[start][0] == indent:
            key, _, rest = lines[start][1].partition(":")
            assert key and key not in mapping, f"line {lines[start][1]!r}"
            start += 1
            if rest.strip():
                mapping[key] = _scalar(rest)
            elif start < len(lines) and lines[start][0] > indent:
                mapping[key], start = block(start, lines[start][0])
            else:
                mapping[key] = None
        return mapping, start

    parsed, end = block(0, 0)
    assert end == len(lines), f"unparsed from line {lines[end][1]!r}"
    return parsed


@pytest.fixture(scope="module")
def compose() -> dict:
    return parse_yaml((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _unit_command(unit: str, key: str) -> list[str]:
    lines = [line.split("=", 1)[1] for line in (DEPLOY / "systemd" / unit).read_text(encoding="utf-8").splitlines()
             if line.startswith(f"{key}=")]
    assert len(lines) == 1, f"{unit} has one {key}"
    return shlex.split(lines[0])


def _listening_anywhere(command: list[str]) -> list[str]:
    """The command with the host of --bind left out (a unit listens on loopback behind nginx, a container on all)."""
    return [re.sub(r"^[0-9.]+:(\d+)$", r"*:\1", part) for part in command]


def _config_variables() -> set[str]:
    source = (ROOT / "app" / "config.py").read_text(encoding="utf-8")
    return set(re.findall(r'(?:environ\.get|_env_bool|_env_int)\(\s*"([A-Z_]+)"', source))


def test_compose_starts_the_database_orthanc_with_its_postgresql_index_and_every_process(compose):
    services = compose["services"]
    assert {"db", "orthanc", "migrate", "check", "web", "outbox", "orca-poller", "lab-poller",
            "transfer"} <= set(services)
    orthanc = json.loads(services["orthanc"]["environment"]["ORTHANC__POSTGRESQL"].replace(
        "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "x"))
    assert orthanc["EnableIndex"] is True and orthanc["Host"] == "db"
    assert services["orthanc"]["environment"]["ORTHANC__AUTHENTICATION_ENABLED"] == "true"
    assert services["migrate"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_each_kamikarte_service_runs_its_systemd_units_command(compose):
    mirrored = {name: service for name, service in compose["services"].items() if "x-systemd" in service}
    assert set(mirrored) == {"check", "web", "outbox", "orca-poller", "lab-poller", "transfer"}
    units = {path.name for path in (DEPLOY / "systemd").glob("*.service")
             if "Type=oneshot" not in path.read_text(encoding="utf-8")}  # the nightly backup runs on the host
    for name, service in mirrored.items():
        unit, key = service["x-systemd"].split()
        assert unit in units
        assert _listening_anywhere(service["command"]) == _listening_anywhere(_unit_command(unit, key)), name
        assert service["image"] == KAMIKARTE_IMAGE
    covered = {service["x-systemd"].split()[0] for service in mirrored.values()}
    assert covered == units, "every systemd unit has its container"


def test_every_variable_set_for_kamikarte_is_one_config_reads(compose):
    known = _config_variables()
    assert {"DATABASE_URL", "SECRET_KEY", "KAMIKARTE_WEB_WORKERS", "KAMIKARTE_LAB_POLL"} <= known
    for name, service in compose["services"].items():
        if service.get("image") != KAMIKARTE_IMAGE:
            continue
        variables = service["environment"]
        assert set(variables) <= known, (name, set(variables) - known)
        assert variables["KAMIKARTE_ENV"] == "production"
        for secret in SECRETS:  # from the environment only, never a default in the file
            assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]+\}}", variables[secret]), (name, secret)
    env_file = (DEPLOY / "systemd" / "kamikarte.env.example").read_text(encoding="utf-8")
    example = {line.lstrip("# ").split("=", 1)[0] for line in env_file.splitlines() if re.match(r"#? ?[A-Z_]+=", line)}
    assert example <= known, example - known


def test_the_image_runs_the_web_units_command():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert "pip install -r requirements.txt" in dockerfile
    command = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    assert _listening_anywhere(command) == _listening_anywhere(_unit_command("kamikarte-web.service", "ExecStart"))


def _unit_text(unit: str) -> str:
    return (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")


def _flask_command(command: list[str]) -> tuple[str, ...] | None:
    """The part after `flask --app wsgi` of a unit's command, or None for another program."""
    prefix = ["/opt/kamikarte/.venv/bin/flask", "--app", "wsgi"]
    return tuple(command[len(prefix):]) if command[:len(prefix)] == prefix else None


def _long_running_commands() -> set[tuple[str, ...]]:
    """The app's commands that run until stopped: the workers a web process runs as threads unless
    KAMIKARTE_OUTBOX_THREAD=0 (named *-worker or *poller)."""
    found = set()

    def walk(group, path: tuple[str, ...]) -> None:
        for name, command in getattr(group, "commands", {}).items():
            walk(command, (*path, name))
            if name.endswith(("-worker", "poller")):
                found.add((*path, name))

    walk(create_app(app_config.TestConfig(DATABASE_URL="sqlite://")).cli, ())
    return found


def test_every_worker_command_has_a_unit_a_container_and_a_place_in_the_demo(compose):
    worker_units = {path.name: _flask_command(_unit_command(path.name, "ExecStart"))
                    for path in (DEPLOY / "systemd").glob("*.service")
                    if "Type=oneshot" not in path.read_text(encoding="utf-8") and path.name != "kamikarte-web.service"}
    assert set(worker_units.values()) == _long_running_commands(), "a worker without a unit (production has no thread)"
    assert set(WORKER_COMMANDS) == set(worker_units.values()), "the demo starts every worker as production does"
    assert ("transfer-worker",) in WORKER_COMMANDS


def test_web_and_transfer_worker_share_a_writable_transfer_dir(compose):
    """ProtectSystem=strict leaves only the StateDirectory writable: the transfer folder must be it, for both units,
    and in the containers one named volume mounted where KAMIKARTE_TRANSFER_DIR points, in both services."""
    env_file = (DEPLOY / "systemd" / "kamikarte.env.example").read_text(encoding="utf-8")
    (folder,) = re.findall(r"^KAMIKARTE_TRANSFER_DIR=(.+)$", env_file, re.M)
    assert folder.startswith("/var/lib/")
    for unit in ("kamikarte-web.service", "kamikarte-transfer.service"):
        text = _unit_text(unit)
        assert "ProtectSystem=strict" in text
        assert f"StateDirectory={folder.removeprefix('/var/lib/')}" in text.splitlines(), unit
    services = compose["services"]
    for name in ("check", "web", "transfer"):
        assert services[name]["environment"]["KAMIKARTE_TRANSFER_DIR"] == folder, name
        assert services[name]["volumes"] == [f"transfer:{folder}"], name
    assert "transfer" in compose["volumes"]
    assert "KAMIKARTE_TRANSFER_DIR" in _config_variables()
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert f"install -d -o kamikarte -g kamikarte {folder}" in dockerfile, "the volume starts owned by the app user"


def test_the_small_parser_reads_what_it_must():
    parsed = parse_yaml('a:\n  b: "x"\n  c:\n    - 1\n    - "two"\n  d: ["p", "q"]\n# note\ne: \'it\'\'s\'\n')
    assert parsed == {"a": {"b": "x", "c": ["1", "two"], "d": ["p", "q"]}, "e": "it's"}
    with pytest.raises(AssertionError):
        parse_yaml("a: 1\na: 2\n")
