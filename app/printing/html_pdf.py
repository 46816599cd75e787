"""HTML print templates to PDF: print_templates/<name>/template.html through a SANDBOXED Jinja environment, then
WeasyPrint with a URL fetcher that serves only our own assets (the template's style.css and the IPAex fonts,
under the kamikarte-asset: scheme) and refuses everything else — file: URLs, http(s), data from anywhere — so a
letter's text can never make the renderer read local files or reach the network. Fonts are embedded (subset)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from app.printing.fonts import GOTHIC, MINCHO, font_path

PRINT_TEMPLATES = Path(__file__).resolve().parents[2] / "print_templates"
ASSET_SCHEME = "kamikarte-asset:"


class RefusedURL(ValueError):
    """A resource the print template asked for that is not one of our assets."""


def _assets(name: str) -> dict[str, tuple[Path, str]]:
    return {"ipaexm": (font_path(MINCHO), "font/ttf"), "ipaexg": (font_path(GOTHIC), "font/ttf"),
            "style.css": (PRINT_TEMPLATES / name / "style.css", "text/css")}


#: In-memory assets a document brings (a letter's key images): name → (bytes, media type).
Attachments = dict[str, tuple[bytes, str]]


def make_fetcher(name: str, refused: list[str] | None = None, attachments: Attachments | None = None) -> Any:
    """A WeasyPrint URL fetcher serving only kamikarte-asset:<asset> (the template's own files and the document's
    `attachments`, kept in memory); every other URL is refused (and listed in `refused` when given, for tests)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    assets = _assets(name)
    attached = attachments or {}

    class AssetOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:  # noqa: ARG002 — WeasyPrint's API
            key = url[len(ASSET_SCHEME):] if url.startswith(ASSET_SCHEME) else None
            if key in attached:
                body, media_type = attached[key]
                return URLFetcherResponse(url, body=body, headers={"Content-Type": media_type})
            if key not in assets:
                if refused is not None:
                    refused.append(url)
                raise RefusedURL(f"印刷テンプレートから参照できないURLです: {url[:100]}")
            path, media_type = assets[key]
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": media_type})

    return AssetOnlyFetcher()


def _environment(name: str) -> SandboxedEnvironment:
    from app.core.jp import format_wareki

    env = SandboxedEnvironment(loader=FileSystemLoader(PRINT_TEMPLATES / name),
                               autoescape=select_autoescape(["html"], default_for_string=True))
    env.filters["wareki"] = lambda value, style="long": format_wareki(value, style) if isinstance(value, date) else ""
    return env


def render_html(name: str, context: dict[str, Any]) -> str:
    """The print template filled in (sandboxed: templates cannot reach Python internals)."""
    return _environment(name).get_template("template.html").render(asset=ASSET_SCHEME, **context)


def render_pdf(name: str, context: dict[str, Any], refused: list[str] | None = None,
               attachments: Attachments | None = None) -> bytes:
    """The print template as PDF bytes, fonts embedded, nothing fetched from outside (images a document brings
    are passed in `attachments` and referenced as kamikarte-asset:<name>)."""
    from weasyprint import HTML

    return HTML(string=render_html(name, context), base_url=ASSET_SCHEME,
                url_fetcher=make_fetcher(name, refused, attachments)).write_pdf()
