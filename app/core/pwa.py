"""The installable web app: manifest, service worker (app shell only) and offline page."""

from __future__ import annotations

from flask import Blueprint, g, render_template, send_from_directory

from app.config import ROOT
from app.core.security import public

bp = Blueprint("pwa", __name__)
PWA_DIR = ROOT / "pwa"


@bp.get("/manifest.webmanifest")
@public
def manifest():
    """The web app manifest (name, icons, start URL) that makes Kamikarte installable."""
    g.cacheable = True
    response = send_from_directory(PWA_DIR, "manifest.webmanifest", mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker, served from the root so its scope is the whole app."""
    g.cacheable = True
    response = send_from_directory(PWA_DIR, "service-worker.js", mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
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
