"""Where webhooks may go (SSRF): only to the operator's hosts, over https unless the operator named the host as the
clinic's own, never to a loopback, private or link-local address unless so named — refused with a Japanese message
when the administrator saves the URL, and again at delivery (the lists or DNS may have changed since; a name
re-pointed between the check and the connection is caught at the connection)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.config import TestConfig as SuiteConfig
from app.core.errors import ValidationError
from app.outbox import services as outbox
from app.outbox.models import DEAD, DELIVERED, OutboxMessage
from app.partners import webhook_hosts
from app.partners.webhook_hosts import RefusedAddress, WebhookHosts, guarded_session
from app.partners.webhooks import queue_event
from tests.factories import make_user
from tests.outbox.test_outbox import Receiver
from tests.partners.helpers import register_partner

PUBLIC = "93.184.215.14"  # an address on the public internet (never connected to: the tests' DNS is patched)


@pytest.fixture
def hosts(monkeypatch):
    """Set the operator's lists (and, optionally, what DNS answers) for one test."""
    def set_hosts(public: str, internal: str = "", dns: dict[str, list[str]] | None = None) -> None:
        monkeypatch.setattr(webhook_hosts, "_allowed", WebhookHosts.from_settings(public, internal))
        if dns is not None:
            monkeypatch.setattr(webhook_hosts, "resolve", lambda host, _port: dns.get(host, []))
    return set_hosts


def _register(client, clinic, url: str):
    return register_partner(client, clinic.institution_code, ["reception.read"], webhook_url=url,
                            webhook_events=["reception.created"])


@pytest.mark.parametrize(("public", "internal", "dns", "url", "message"), [
    ("partner.example", "", {}, "https://evil.example/hook", "evil.example は運用者が許可したホストではありません"),
    ("*.partner.example", "", {}, "https://partner.example.evil.example/", "許可したホストではありません"),
    ("partner.example", "", {}, "http://partner.example/hook", "https:// で送ってください"),
    ("partner.example", "", {}, "https://user:pw@partner.example/hook", "利用者名やパスワード"),
    ("partner.example", "", {"partner.example": [PUBLIC, "10.1.2.3"]}, "https://partner.example/hook",
     "院内・ループバック・リンクローカルのアドレス（10.1.2.3）"),
    ("169.254.169.254", "", None, "https://169.254.169.254/latest/meta-data", "（169.254.169.254）"),
    ("::1", "", None, "https://[::1]:8443/hook", "（::1）"),
    ("partner.example", "", {"partner.example": ["::ffff:127.0.0.1"]}, "https://partner.example/", "::ffff:127.0.0.1"),
    ("", "", {}, "https://partner.example/hook", "KAMIKARTE_WEBHOOK_HOSTS"),
])
def test_registration_refuses(client, partner_clinic, hosts, public, internal, dns, url, message):
    clinic, _ = partner_clinic
    hosts(public, internal, dns)
    with pytest.raises(ValidationError, match=message) as refused:
        _register(client, clinic, url)
    assert refused.value.field == "webhook_url"


def test_registration_accepts_the_operators_hosts(client, session, partner_clinic, hosts):
    clinic, _ = partner_clinic
    hosts("booking.example.jp *.partner.example", "booking.lan", {"a.partner.example": [PUBLIC]})
    for url in ("https://a.partner.example/hook", "https://booking.example.jp/hook",  # resolves nowhere yet
                "http://booking.lan:8080/hook"):  # the clinic's own: plain http and any address
        assert _register(client, clinic, url).app.webhook_url == url


def test_the_admin_screen_shows_why(client, session, partner_clinic):
    clinic, _ = partner_clinic
    admin = make_user(session, clinic, role="admin")
    session.commit()
    app_row = _register(client, clinic, "https://partner.example/hook").app
    client.login(admin.login_id, admin.totp_secret)
    page = f"/admin/partners/{app_row.id}"
    refused = client.post(f"{page}/webhook", {"webhook_url": "https://intranet.example/hook",
                                              "events": ["reception.created"]}, form_page=page)
    assert refused.status_code == 422
    assert "intranet.example は運用者が許可したホストではありません" in refused.get_data(as_text=True)


def _deliver(app, session, clinic) -> OutboxMessage:
    assert queue_event(session, clinic.id, "reception.created", {"visit_id": 1}) == 1
    session.commit()
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "partner.webhook"))
    session.refresh(message)
    return message


def test_delivery_goes_to_an_internal_host(app, client, session, partner_clinic):
    clinic, _ = partner_clinic
    receiver = Receiver()
    try:
        _register(client, clinic, receiver.url)  # TestConfig's internal hosts: 127.0.0.1 and localhost
        assert _deliver(app, session, clinic).status == DELIVERED
    finally:
        receiver.close()
    assert len(receiver.raw_requests) == 1


def test_delivery_refused_when_the_operator_withdrew_the_host(app, client, session, partner_clinic, hosts):
    clinic, _ = partner_clinic
    receiver = Receiver()
    try:
        _register(client, clinic, receiver.url)
        hosts("partner.example", "")  # 127.0.0.1 no longer allowed
        message = _deliver(app, session, clinic)
    finally:
        receiver.close()
    assert message.status == DEAD and "127.0.0.1 は運用者が許可したホストではありません" in message.last_error
    assert receiver.raw_requests == []


def test_delivery_refused_when_dns_now_points_inside(app, client, session, partner_clinic, hosts):
    clinic, _ = partner_clinic
    hosts("partner.example", "", {"partner.example": [PUBLIC]})
    _register(client, clinic, "https://partner.example/hook")
    hosts("partner.example", "", {"partner.example": ["192.168.10.5"]})
    message = _deliver(app, session, clinic)
    assert message.status == DEAD and "（192.168.10.5）を指しています" in message.last_error


def test_delivery_refused_at_the_connection_when_dns_changed_after_the_check(app, client, session, partner_clinic,
                                                                                  hosts):
    clinic, _ = partner_clinic
    receiver = Receiver()
    port = receiver.url.split(":")[2].split("/")[0]
    try:  # the check is told a public address; the connection then reaches 127.0.0.1 (DNS rebinding)
        hosts("localhost", "", {"localhost": [PUBLIC]})
        _register(client, clinic, f"https://localhost:{port}/inbox")
        message = _deliver(app, session, clinic)
    finally:
        receiver.close()
    assert message.status == DEAD and "院内・ループバック等のアドレス（127.0.0.1）を指したため" in message.last_error
    assert receiver.raw_requests == []


def test_the_guarded_session_refuses_a_loopback_connection_unless_internal(hosts):
    receiver = Receiver()
    try:
        hosts("127.0.0.1", "")
        with guarded_session() as http, pytest.raises(RefusedAddress):
            http.post(receiver.url, data=b"{}", headers={"Idempotency-Key": "k1"}, timeout=5)
        assert receiver.raw_requests == []
        hosts("", "127.0.0.1")
        with guarded_session() as http:
            assert http.post(receiver.url, data=b"{}", headers={"Idempotency-Key": "k2"}, timeout=5).ok
    finally:
        receiver.close()
    assert len(receiver.raw_requests) == 1


def test_the_configuration_check_names_a_bad_entry():
    config = SuiteConfig(WEBHOOK_HOSTS="https://booking.example.jp, *.partner.example", WEBHOOK_INTERNAL_HOSTS="*.lan")
    problems = {p.variable: p.message for p in config.problems()}
    assert "https://booking.example.jp" in problems["KAMIKARTE_WEBHOOK_HOSTS"]
    assert "*.partner.example" not in problems["KAMIKARTE_WEBHOOK_HOSTS"]
    assert "*.lan" in problems["KAMIKARTE_WEBHOOK_INTERNAL_HOSTS"]


def test_flask_check_lists_the_hosts_and_names_an_application_they_no_longer_allow(app, client, partner_clinic,
                                                                                   hosts):
    clinic, _ = partner_clinic
    register_partner(client, clinic.institution_code, ["reception.read"], name="予約連携",
                     webhook_url="http://127.0.0.1:9/hook", webhook_events=["reception.created"])
    result = app.test_cli_runner().invoke(args=["check"])
    assert "[OK ] KAMIKARTE_WEBHOOK_HOSTS: Webhookの送信先（https）: partner.example／院内（http・院内アドレス可）: " \
           "127.0.0.1, localhost" in result.output
    assert "Webhook 予約連携" not in result.output
    hosts("partner.example")
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, "a warning: its events are refused at delivery, the server may start"
    assert "[注意] Webhook 予約連携: 送信先 127.0.0.1 は運用者が許可したホストではありません" in result.output
