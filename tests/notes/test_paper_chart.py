"""A paper-chart clinic has no full-chart mode at all: every route of the notes blueprint (notes, drafts, phrases
and templates, the chart and its search, シェーマ, printing) answers 404 to its doctor, whatever the method, and
writes nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.core.timeutil import japan_today
from app.notes.models import NoteDraft, ProgressNote
from tests.notes.chart_world import make_chart_world


def _paths(app, patient_id: int) -> list[tuple[str, str]]:
    """(method, path) of every notes route, its parameters filled with plausible values."""
    values = {"patient_id": str(patient_id), "day": japan_today().isoformat()}
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("notes."):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values.get(m.group(1), "1"), rule.rule)
        found += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_every_notes_route_answers_404_in_a_paper_chart_clinic(app, client, session):
    world = make_chart_world(session, full_chart=False)
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    token = client.token(f"/patients/{world.patient.id}")
    paths = _paths(app, world.patient.id)
    assert len(paths) >= 30
    answers = {}
    for method, path in paths:
        if method == "GET":
            answers[method, path] = client.get(path).status_code
        else:
            answers[method, path] = client.raw.open(path, method=method, data={"csrf_token": token,
                                                                                "subjective": "x"},
                                                    headers={"X-CSRFToken": token}).status_code
    assert {key: status for key, status in answers.items() if status != 404} == {}
    assert session.scalar(select(func.count()).select_from(ProgressNote)) == 0
    assert session.scalar(select(func.count()).select_from(NoteDraft)) == 0
