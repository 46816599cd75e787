"""The installable web app: manifest, service worker (app shell only) and offline page."""

from __future__ import annotations

from flask import Blueprint, g, render_template, send_from_directory

from app.config import ROOT
from app.core.security import public

bp = Blueprint("pwa", __name__)
PWA_DIR = ROOT / "pwa"


def _always_checked(name: str, mimetype: str):
    """A file of the app shell the browser checks for a newer copy every time (no-cache)."""
    g.cacheable = True
    response = send_from_directory(PWA_DIR, name, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
@public
def manifest():
    """The web app manifest (name, icons, start URL) that makes Kamikarte installable."""
    return _always_checked("manifest.webmanifest", "application/manifest+json")


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker, served from the root so its scope is the whole app."""
    response = _always_checked("service-worker.js", "text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/pwa/icons/<path:name>")
@public
def icon(name: str):
    """App icons for the manifest and the home screen."""
    g.cacheable = True
    return send_from_directory(PWA_DIR / "icons", name, max_age=86400)


@bp.get("/offline")
@public
def offline():
    """The page the service worker shows when the server cannot be reached (no patient data in it)."""
    g.cacheable = True
    response = render_template("offline.html")
    return response
