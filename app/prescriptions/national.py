"""Other institutions' prescriptions of a patient, for the checks: duplicates and interactions are also looked for
against them. The national service is reached by app.sharing, which registers the provider here (prescriptions do
not depend on the sharing package; it depends on them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.prescriptions.services import CurrentMedicine


@dataclass
class NationalMedicines:
    """Other institutions' current medicines, or why they could not be read (problem, in Japanese)."""

    medicines: list[CurrentMedicine] = field(default_factory=list)
    problem: str | None = None
    #: False when the clinic does not use the service at all (then nothing was expected to be compared).
    connected: bool = True


Provider = Callable[[Session, Any, Any, date], NationalMedicines]
_providers: list[Provider] = []


def register_provider(provider: Provider) -> None:
    """Set the function that reads other institutions' medicines (app.sharing registers it at import)."""
    _providers[:] = [provider]


def national_medicines(session: Session, clinic: Any, patient: Any, today: date) -> NationalMedicines:
    """Other institutions' current medicines of the patient, each named with its institution and date."""
    if not _providers:
        return NationalMedicines(problem="他院の処方を読む機能が組み込まれていないため、他院の処方とは照合していません",
                                 connected=False)
    return _providers[0](session, clinic, patient, today)
