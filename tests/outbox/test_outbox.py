"""The outbox: written with the change, delivered with back-off and idempotency keys, dead after N tries,
visible and retryable by staff, safe with several workers."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.outbox import services as outbox
from app.outbox.models import DEAD, DELIVERED, DELIVERING, PENDING, OutboxMessage
from tests.factories import make_clinic, make_user

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


class Receiver:
    """A real HTTP server that fails the first `failures` requests, then accepts; it dedups by key."""

    def __init__(self, failures: int = 0, status_on_failure: int = 503) -> None:
        self.failures = failures
        self.status_on_failure = status_on_failure
        self.requests: list[tuple[str, dict]] = []
        #: Each request's headers and body bytes as received (what a signature covers).
        self.raw_requests: list[tuple[dict[str, str], bytes]] = []
        self.accepted_keys: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw) if raw else None
                receiver.raw_requests.append((dict(self.headers), raw))
                key = self.headers["Idempotency-Key"]
                receiver.requests.append((key, body))
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(receiver.status_on_failure)
                    self.end_headers()
                    return
                receiver.accepted_keys.add(key)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"received": body}).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/inbox"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _deliver_all(app, rounds: int = 10):
    factory = app.extensions["db_sessionmaker"]
    for _ in range(rounds):
        outbox.run_once(factory, base_delay=0)


def test_message_is_written_in_the_same_transaction_as_the_change(session):
    clinic = make_clinic(session)
    outbox.enqueue(session, clinic_id=clinic.id, kind="http.post", payload={"url": "http://x"})
    session.rollback()  # the change is abandoned: so is its message
    assert session.scalars(select(OutboxMessage)).all() == []


def test_delivery_retries_with_backoff_then_succeeds(app, session):
    r = Receiver(failures=2)
    try:
        clinic = make_clinic(session)
        message = outbox.enqueue(session, clinic_id=clinic.id, kind="http.post",
                                 payload={"url": r.url, "body": {"訂正": "髙橋"}}, max_attempts=5)
        session.commit()
        _deliver_all(app)
        session.expire_all()
        delivered = session.get(OutboxMessage, message.id)
        assert delivered.status == DELIVERED and delivered.attempts == 3
        assert delivered.response["body"] == {"received": {"訂正": "髙橋"}}
        keys = {key for key, _ in r.requests}
        assert keys == {message.idempotency_key}  # the same key on every try
    finally:
        r.close()


def test_backoff_is_exponential_and_capped():
    assert [outbox.backoff_seconds(n, 5) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert outbox.backoff_seconds(30, 5) == outbox.MAX_BACKOFF_SECONDS


def test_failed_try_waits_for_its_backoff(app, session):
    r = Receiver(failures=1)
    try:
        clinic = make_clinic(session)
        message = outbox.enqueue(session, clinic_id=clinic.id, kind="http.post", payload={"url": r.url})
        session.commit()
        factory = app.extensions["db_sessionmaker"]
        outbox.run_once(factory, base_delay=60)
        outbox.run_once(factory, base_delay=60)  # not due yet: nothing is sent
        session.expire_all()
        waiting = session.get(OutboxMessage, message.id)
        assert waiting.status == PENDING and waiting.attempts == 1 and len(r.requests) == 1
        assert waiting.next_attempt_at > utcnow() + timedelta(seconds=50)
        assert "HTTP 503" in waiting.last_error
    finally:
        r.close()


def test_message_is_dead_after_max_attempts_and_staff_can_retry(app, client, session):
    r = Receiver(failures=100)
    try:
        clinic = make_clinic(session)
        clerk = make_user(session, clinic, role="clerk")
        message = outbox.enqueue(session, clinic_id=clinic.id, kind="http.post", payload={"url": r.url},
                                 max_attempts=3)
        session.commit()
        _deliver_all(app)
        session.expire_all()
        dead = session.get(OutboxMessage, message.id)
        assert dead.status == DEAD and dead.attempts == 3
        client.login(clerk.login_id, clerk.totp_secret)
        page = client.get("/outbox?state=failed").get_data(as_text=True)
        assert "失敗" in page and f"/outbox/{message.id}/retry" in page
        r.failures = 0
        assert client.post(f"/outbox/{message.id}/retry", {}, form_page="/outbox").status_code == 302
        _deliver_all(app)
        session.expire_all()
        assert session.get(OutboxMessage, message.id).status == DELIVERED
        assert "送信済み" in client.get("/outbox").get_data(as_text=True)
    finally:
        r.close()


def test_refusal_by_receiver_is_permanent(app, session):
    r = Receiver(failures=1, status_on_failure=422)
    try:
        clinic = make_clinic(session)
        message = outbox.enqueue(session, clinic_id=clinic.id, kind="http.post", payload={"url": r.url})
        session.commit()
        _deliver_all(app)
        session.expire_all()
        refused = session.get(OutboxMessage, message.id)
        assert refused.status == DEAD and refused.attempts == 1 and "422" in refused.last_error
    finally:
        r.close()


def test_unknown_kind_is_dead_with_a_reason(app, session):
    clinic = make_clinic(session)
    message = outbox.enqueue(session, clinic_id=clinic.id, kind="nobody.knows", payload={})
    session.commit()
    _deliver_all(app)
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == DEAD
    assert "配信先が登録されていません" in session.get(OutboxMessage, message.id).last_error


def test_a_worker_that_died_mid_delivery_does_not_lose_the_message(app, session, receiver):
    clinic = make_clinic(session)
    message = outbox.enqueue(session, clinic_id=clinic.id, kind="http.post", payload={"url": receiver.url})
    session.commit()
    factory = app.extensions["db_sessionmaker"]
    with factory() as s:
        assert outbox.claim_due(s) == [message.id]  # claimed, then the worker "dies"
    with factory() as s:
        assert outbox.claim_due(s) == []  # still leased to the dead worker
        s.get(OutboxMessage, message.id).lease_until = utcnow() - timedelta(seconds=1)
        s.commit()
    _deliver_all(app)
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == DELIVERED


def test_concurrent_workers_deliver_each_message_exactly_once(app, session, receiver):
    clinic = make_clinic(session)
    ids = [outbox.enqueue(session, clinic_id=clinic.id, kind="http.post",
                          payload={"url": receiver.url, "body": {"n": n}}).id for n in range(30)]
    session.commit()
    factory = app.extensions["db_sessionmaker"]
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(20):
                outbox.run_once(factory, base_delay=0, limit=3)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    session.expire_all()
    statuses = {session.get(OutboxMessage, i).status for i in ids}
    assert statuses == {DELIVERED}
    sent = [key for key, _ in receiver.requests]
    assert len(sent) == len(set(sent)) == 30  # no message was sent twice


def test_outbox_screen_counts_by_status(client, session):
    clinic = make_clinic(session)
    nurse = make_user(session, clinic, role="nurse")
    outbox.enqueue(session, clinic_id=clinic.id, kind="http.post", payload={"url": "http://127.0.0.1:9/"})
    session.commit()
    client.login(nurse.login_id, nurse.totp_secret)
    page = client.get("/outbox").get_data(as_text=True)
    assert "送信待ち（1件）" in page
    # A nurse may look but not resend.
    assert "/retry" not in page


def test_cli_worker_once_delivers(app, session, receiver):
    clinic = make_clinic(session)
    message = outbox.enqueue(session, clinic_id=clinic.id, kind="http.post", payload={"url": receiver.url})
    session.commit()
    result = app.test_cli_runner().invoke(args=["outbox-worker", "--once"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == DELIVERED


def test_delivering_state_is_not_retryable(session):
    clinic = make_clinic(session)
    message = outbox.enqueue(session, clinic_id=clinic.id, kind="http.post", payload={})
    message.status = DELIVERING
    from app.core.audit import SYSTEM
    from app.core.errors import ValidationError

    with pytest.raises(ValidationError):
        outbox.retry_message(session, message, SYSTEM)


def test_latest_for_subject_is_the_newest_message_of_that_kind_about_it_in_that_clinic(session):
    clinic, other = make_clinic(session), make_clinic(session, institution_code="1312345679")
    first = outbox.enqueue(session, clinic_id=clinic.id, kind="lab.order", payload={"n": 1}, subject_id=7)
    newest = outbox.enqueue(session, clinic_id=clinic.id, kind="lab.order", payload={"n": 2}, subject_id=7)
    outbox.enqueue(session, clinic_id=clinic.id, kind="lab.order_cancel", payload={"n": 3}, subject_id=7)
    outbox.enqueue(session, clinic_id=clinic.id, kind="lab.order", payload={"n": 4}, subject_id=8)
    session.commit()

    assert first.id < newest.id
    assert outbox.latest_for_subject(session, clinic.id, "lab.order", 7) is newest
    assert outbox.latest_for_subject(session, other.id, "lab.order", 7) is None
    assert outbox.latest_for_subject(session, clinic.id, "lab.order", 9) is None
