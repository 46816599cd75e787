"""The transport to the national services: request files in, reply files out, over folders or the relay."""

from __future__ import annotations

import threading
import time

import pytest

from app.integrations.national_gateway import (
    FolderGateway,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    RelayGateway,
    exchange,
    gateway_for,
    request_file_name,
)
from simulators.oqs_terminal.testing import start_terminal_simulator

CLINIC = "1310123458"


def echo(clinic: str, request_id: str, body: bytes) -> tuple[str, bytes]:
    return ".xml", b"<reply clinic='" + clinic.encode() + b"' id='" + request_id.encode() + b"'>" + body + b"</reply>"


@pytest.fixture(scope="module")
def terminal():
    running = start_terminal_simulator({"EPSsiPIR01": echo, "YZKsiquc01": lambda c, i, b: (".pdf", b"%PDF-1.4")})
    yield running
    running.stop()


@pytest.fixture()
def relay(terminal):
    terminal.reset()
    return RelayGateway(terminal.base_url(CLINIC), terminal.token(CLINIC), timeout=5)


def test_relay_carries_a_request_and_its_reply_once(terminal, relay):
    reply = exchange(relay, "EPSsiPIR01", "abc123", b"<x/>", timeout=2)
    assert reply.file_name == "EPSsiPIR01res_abc123.xml"
    assert reply.body == b"<reply clinic='1310123458' id='abc123'><x/></reply>"
    assert relay.collect("EPSsiPIR01", "abc123") is None  # taken once
    assert terminal.requests_seen() == [{"clinic": CLINIC, "file": "EPSsiPIR01req_abc123.xml"}]


def test_relay_pdf_reply(relay):
    reply = exchange(relay, "YZKsiquc01", "p1", b"<q/>", timeout=2)
    assert reply.is_pdf and reply.body.startswith(b"%PDF")


def test_wrong_token_is_refused_for_good(terminal):
    gateway = RelayGateway(terminal.base_url(CLINIC), "wrong", timeout=5)
    with pytest.raises(GatewayRejected):
        gateway.submit("EPSsiPIR01", "x1", b"<x/>")


def test_down_relay_is_retryable(terminal, relay):
    terminal.set_fault("down")
    with pytest.raises(GatewayUnavailable) as caught:
        relay.submit("EPSsiPIR01", "x2", b"<x/>")
    assert caught.value.retryable


def test_lost_reply_times_out_naming_the_request(terminal, relay):
    terminal.set_fault("lost_reply")
    with pytest.raises(GatewayTimeout) as caught:
        exchange(relay, "EPSsiPIR01", "lost1", b"<x/>", timeout=0.3)
    assert caught.value.request_id == "lost1" and caught.value.retryable


def test_unanswered_business_code_times_out(relay):
    with pytest.raises(GatewayTimeout):
        exchange(relay, "TKKsiquc01", "t1", b"<x/>", timeout=0.2)


@pytest.mark.parametrize("code, request_id", [("EPS", "a"), ("EPSsiPIR01", "a/b"), ("EPSsiPIR01", "x" * 41),
                                              ("EPSsiPIR01", "")])
def test_malformed_names_are_refused(code, request_id):
    with pytest.raises(GatewayRejected):
        request_file_name(code, request_id)


def test_folder_gateway_with_a_terminal_answering_late(tmp_path):
    (tmp_path / "req").mkdir()
    (tmp_path / "res").mkdir()
    gateway = gateway_for(f"file://{tmp_path}", "")
    assert isinstance(gateway, FolderGateway)

    def terminal_app():  # the 連携アプリ: picks the request up, answers a little later
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            files = [p for p in (tmp_path / "req").iterdir() if not p.name.startswith(".")]
            if files:
                request = files[0]
                body = request.read_bytes()
                request.unlink()
                time.sleep(0.1)
                (tmp_path / "res" / request.name.replace("req_", "res_")).write_bytes(b"<ok>" + body + b"</ok>")
                return
            time.sleep(0.01)

    worker = threading.Thread(target=terminal_app)
    worker.start()
    reply = exchange(gateway, "YZKsiquc01", "r1", b"<q/>", timeout=3, poll_interval=0.01)
    worker.join()
    assert reply.file_name == "YZKsiquc01res_r1.xml" and reply.body == b"<ok><q/></ok>"
    assert not list((tmp_path / "res").iterdir())


def test_folder_gateway_missing_folder_is_unavailable(tmp_path):
    with pytest.raises(GatewayUnavailable):
        FolderGateway(tmp_path / "nowhere").submit("EPSsiPIR01", "a1", b"<x/>")


def test_unknown_scheme_is_refused():
    with pytest.raises(GatewayRejected):
        gateway_for("ftp://example/", "")
