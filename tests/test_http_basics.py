"""Health check, security headers, error pages, the PWA files."""

from __future__ import annotations

from tests.factories import make_clinic, make_user


def test_healthz_needs_no_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_security_headers_on_pages(client, session):
    user = make_user(session, make_clinic(session))
    session.commit()
    client.login(user.login_id, user.totp_secret)
    response = client.get("/reception")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_hsts_behind_tls(client):
    response = client.raw.get("/healthz", base_url="https://kamikarte.example")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_session_cookie_is_httponly_and_samesite(client, session):
    user = make_user(session, make_clinic(session))
    session.commit()
    response = client.login(user.login_id, user.totp_secret)
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("kamikarte_session=")]
    assert cookies and "HttpOnly" in cookies[-1] and "SameSite=Lax" in cookies[-1]


def test_secure_cookie_flag_by_default():
    from app.config import Config

    assert Config().as_flask_config()["SESSION_COOKIE_SECURE"] is True


def test_pages_have_no_inline_script(client, session):
    user = make_user(session, make_clinic(session), role="admin")
    session.commit()
    client.login(user.login_id, user.totp_secret)
    for path in ["/login", "/reception", "/patients", "/admin/clinic", "/admin/staff", "/admin/audit", "/outbox"]:
        html = client.get(path).get_data(as_text=True)
        for chunk in html.split("<script")[1:]:
            assert "src=" in chunk.split(">")[0], f"inline script on {path}"
        assert " style=" not in html, f"inline style on {path}"


def test_unknown_page_is_japanese_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "見つかりませんでした" in response.get_data(as_text=True)


def test_manifest_and_service_worker(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    data = manifest.json
    assert data["start_url"] == "/reception" and data["display"] == "standalone"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and "javascript" in sw.mimetype
    assert "caches" in sw.get_data(as_text=True)
    assert client.get("/offline").status_code == 200
