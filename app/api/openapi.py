"""The OpenAPI 3.1 document of the JSON API, built from the application's URL map: every /api route with its
scopes (`require_scope`) and description (`documented`). A route cannot be left out or described twice; the test
suite also checks the document against the routes and runs schemathesis against it."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, jsonify
from werkzeug.routing import Rule

from app.api import bp
from app.api.spec import SCHEMAS, RouteDoc, ref
from app.core.security import public
from app.core.web import MAX_ID
from app.partners.scopes import SCOPES
from app.partners.tokens import TOKEN_SECONDS

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
_ERRORS = {
    400: "入力の誤り（不正なJSON・型・不明な項目・パラメータ）", 401: "トークンがない・無効・期限切れ・取り消し済み",
    403: "スコープが足りない", 404: "見つからない（他院のIDも同じ）", 413: "本文が大きすぎる",
    422: "業務ルールにより受け付けられない", 429: "リクエスト数の上限を超えた",
}


def openapi_path(rule: Rule) -> str:
    """A Flask rule as an OpenAPI path (`<int:patient_id>` → `{patient_id}`)."""
    return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule.rule)


def api_rules(app: Flask) -> list[tuple[Rule, Any]]:
    """The API's routes other than the document itself, with their view functions, in path order."""
    rules = [(rule, app.view_functions[rule.endpoint]) for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi_document"]
    return sorted(rules, key=lambda pair: (pair[0].rule, sorted(pair[0].methods or [])))


def _operation(rule: Rule, view: Any, method: str) -> dict[str, Any]:
    doc: RouteDoc = view.api_doc
    scopes = list(view.required_scopes)
    parameters = [{"name": name, "in": "path", "required": True, "schema": _ID} for name in rule.arguments]
    parameters += [{"name": name, "in": "query", "required": name in doc.required, "schema": schema}
                   for name, schema in doc.query.items()]
    statuses = [400, 401, 403, 429] + ([404] if rule.arguments or doc.body else []) + \
        ([413, 422] if doc.body else [])
    responses: dict[str, Any] = {str(doc.status): {"description": "成功",
                                                    "content": {"application/json": {"schema": doc.response}}}}
    for status in sorted(statuses):
        responses[str(status)] = {"description": _ERRORS[status],
                                  "content": {"application/json": {"schema": ref("Error")}}}
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.removeprefix("api."), "summary": doc.summary,
        "description": f"必要なスコープ: {', '.join(scopes)}", "security": [{"partnerOAuth": scopes}],
        "parameters": parameters, "responses": responses}
    if doc.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc.body}}}
    return operation


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the application's /api routes."""
    paths: dict[str, dict[str, Any]] = {}
    for rule, view in api_rules(app):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            path = paths.setdefault(openapi_path(rule), {})
            if method.lower() in path:
                raise ValueError(f"{method} {rule.rule} is declared twice")
            path[method.lower()] = _operation(rule, view, method)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kamikarte Partner API", "version": "1.0.0",
                 "description": "提携アプリケーション向けのAPI。/oauth/token で client_credentials により"
                                f"取得したアクセストークン（有効期間{TOKEN_SECONDS // 60}分）を Authorization: Bearer"
                                " で送ります。見えるのは登録した医療機関のデータだけです。"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"partnerOAuth": {
                "type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": SCOPES}}}},
        },
    }


@bp.get("/openapi.json")
@public
def openapi_document() -> Any:
    """The API's OpenAPI document (public: it holds no clinic's data)."""
    document = current_app.extensions.get("api_openapi")
    if document is None:
        document = current_app.extensions["api_openapi"] = build_document(current_app)
    return jsonify(document)
