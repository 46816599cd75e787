"""HTML print templates to PDF: print_templates/<name>/template.html through a SANDBOXED Jinja environment, then
WeasyPrint with a URL fetcher that serves only our own assets (the template's style.css and the IPAex fonts,
under the kamikarte-asset: scheme) and refuses everything else — file: URLs, http(s), data from anywhere — so a
letter's text can never make the renderer read local files or reach the network. Fonts are embedded (subset).

Speed: a template's style.css is parsed once per thread, with its @font-face fonts loaded once into a
FontConfiguration that later renders reuse (loading the two 6 MB IPAex files and parsing the stylesheet was a
fifth of a letter's time). Per thread because WeasyPrint's font configuration (fontconfig/Pango) is not
documented as safe to share between threads."""

from __future__ import annotations

import threading
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from app.core.jp import format_wareki, strip_control_chars
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


def _printable(value: Any) -> Any:
    """Every text a print template outputs, without invisible characters (bidi controls could reorder what a
    printed letter appears to say, whenever the text was stored); the template's own markup is left alone."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return strip_control_chars(value, multiline=True)
    return value


@cache
def _environment(name: str) -> SandboxedEnvironment:
    """The sandboxed Jinja environment of one print template folder, made once (Jinja environments are safe to
    share between threads; keeping it keeps its compiled templates — compiling took 14 ms a letter)."""
    env = SandboxedEnvironment(loader=FileSystemLoader(PRINT_TEMPLATES / name),
                               autoescape=select_autoescape(["html"], default_for_string=True),
                               finalize=_printable)
    env.filters["wareki"] = lambda value, style="long": format_wareki(value, style) if isinstance(value, date) else ""
    return env


def render_html(name: str, context: dict[str, Any], *, link_stylesheet: bool = True) -> str:
    """The print template filled in (sandboxed: templates cannot reach Python internals). Without
    `link_stylesheet` the page does not link its style.css (render_pdf passes the parsed copy instead)."""
    return _environment(name).get_template("template.html").render(asset=ASSET_SCHEME,
                                                                   link_stylesheet=link_stylesheet, **context)


_prepared = threading.local()


def _stylesheet(name: str) -> tuple[Any, Any]:
    """(FontConfiguration, parsed style.css) of a template, made once per thread: the @font-face fonts are
    fetched through our asset-only fetcher and loaded when the stylesheet is parsed."""
    cache: dict[str, tuple[Any, Any]] = _prepared.__dict__.setdefault("by_template", {})
    if name not in cache:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        font_config = FontConfiguration()
        css = CSS(string=(PRINT_TEMPLATES / name / "style.css").read_text(encoding="utf-8"), base_url=ASSET_SCHEME,
                  url_fetcher=make_fetcher(name), font_config=font_config)
        cache[name] = (font_config, css)
    return cache[name]


def render_pdf(name: str, context: dict[str, Any], refused: list[str] | None = None,
               attachments: Attachments | None = None) -> bytes:
    """The print template as PDF bytes, fonts embedded, nothing fetched from outside (images a document brings
    are passed in `attachments` and referenced as kamikarte-asset:<name>)."""
    return pdf_of_html(name, render_html(name, context, link_stylesheet=False), refused, attachments)


def pdf_of_html(name: str, html: str, refused: list[str] | None = None,
                attachments: Attachments | None = None) -> bytes:
    """PDF bytes of a print template already filled in by render_html(…, link_stylesheet=False)."""
    from weasyprint import HTML

    font_config, css = _stylesheet(name)
    return HTML(string=html, base_url=ASSET_SCHEME,
                url_fetcher=make_fetcher(name, refused, attachments)).write_pdf(stylesheets=[css],
                                                                                font_config=font_config)
