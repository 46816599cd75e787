"""What the demo does at each start: seed an empty database, point the demo clinics at the simulators."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.clinics.models import Clinic
from app.demo.clinical import load_masters_if_empty, seed_clinical_demo
from app.demo.imaging import seed_demo_pacs
from app.demo.labs import seed_in_house_demo, seed_lab_demo
from app.demo.notes import seed_note_library, seed_notes_demo
from app.demo.onshi import connection as oqs_connection
from app.demo.onshi import seed_history
from app.demo.seed import (
    LAB_DEMO_TOKENS,
    LAB_INBOUND_DEMO_TOKENS,
    is_empty,
    seed_demo,
)
from app.demo.sharing import connection as sharing_connection
from app.demo.sharing import refresh_yamada_copy, seed_clinic_records, seed_simulator
from app.reception.orca_sync import sync_all_clinics

log = logging.getLogger(__name__)


def is_demo_connection(orca_base_url: str, institution_code: str) -> bool:
    """Whether a clinic's ORCA connection is still the demo's own: unset (as seeded) or pointing at an ORCA
    simulator on loopback. The demo re-points only those at each start; once an administrator enters a real
    ORCA under 管理 → ORCA接続, the demo leaves the clinic's connections alone. The demo keeps no flag of its own
    in the clinic's settings, so production code never has to know about the demo."""
    if not orca_base_url:
        return True
    return re.fullmatch(rf"http://127\.0\.0\.1:\d+/clinic/{re.escape(institution_code)}/api", orca_base_url) is not None


def prepare_demo(app: Flask, orca_root: str, oqs_root: str | None = None, pacs: Any = None,
                 lab_root: str | None = None, sharing_root: str | None = None) -> None:
    """Seed if empty; set the demo clinics' ORCA URL to this run's simulator; pull today's reception list; give
    the fixed patients their clinical records the first time; with `pacs` (a RunningOrthanc), store the demo
    studies in it and point clinic A at it."""
    factory = app.extensions["db_sessionmaker"]
    with factory() as session:
        if is_empty(session):
            seed_demo(session)
            log.info("demo seeded")
        for clinic in session.scalars(select(Clinic)):
            orca = clinic.integration("orca")
            if is_demo_connection(orca.get("base_url") or "", clinic.institution_code):
                orca["base_url"] = f"{orca_root}/clinic/{clinic.institution_code}/api"
                clinic.set_integration("orca", orca)
                if lab_root and clinic.institution_code in LAB_DEMO_TOKENS:
                    lab = clinic.integration("lab_center")
                    lab.update(base_url=f"{lab_root}/clinic/{clinic.institution_code}",
                               token=LAB_DEMO_TOKENS[clinic.institution_code],
                               inbound_token=LAB_INBOUND_DEMO_TOKENS[clinic.institution_code])
                    clinic.set_integration("lab_center", lab)
                if sharing_root and (shared := sharing_connection(sharing_root, clinic.institution_code)):
                    clinic.set_integration("sharing", shared)
                if oqs_root and (gateway := oqs_connection(oqs_root, clinic.institution_code)):
                    # One 資格確認端末 for both national services; the demo's doctors sign with the test CA.
                    signing = {**clinic.integration("eprescription"), "signer": "test"}
                    clinic.set_integration("national_gateway", gateway)
                    clinic.set_integration("eprescription", signing)
        session.commit()

    with factory() as session:
        load_masters_if_empty(session)
        session.commit()
    sync_all_clinics(factory)

    with factory() as session:  # the fixed patients exist once ORCA has been pulled
        seed_clinical_demo(session)
        seed_notes_demo(session)
        seed_note_library(session)
        session.commit()
    if pacs is not None:
        with factory() as session:
            seed_demo_pacs(session, pacs.dicomweb_url, pacs.username, pacs.password)
            session.commit()

    with factory() as session:
        seed_lab_demo(session)
        session.commit()
        seed_in_house_demo(session)
    if sharing_root:  # the simulator forgets everything when stopped: tell it again at each start

        with factory() as session:
            seed_simulator(session, sharing_root)
            seed_clinic_records(session)
            session.commit()
            refresh_yamada_copy(session)  # the banner's 他院 entries, before anyone opens the 6情報 page
            session.commit()
    if oqs_root:  # the history service forgets every fetch when stopped; today's consent is new each day
        with factory() as session:
            seed_history(session)
            session.commit()
