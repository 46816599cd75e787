"""Full-text search of notes: a patient's chart, or the whole clinic (doctors). Every note version's folded text
is written to note_search_entry when the version is flushed (versions are never changed, so once is enough); a
query's words must all occur in a current note. PostgreSQL answers LIKE through the pg_trgm GIN index; SQLite
through the FTS5 trigram table for words of three characters or more across the clinic (shorter words, and one
patient's notes, are read by LIKE)."""

from __future__ import annotations

from sqlalchemy import column, event, insert, literal_column, select, table
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.notes.models import ProgressNote
from app.notes.search_models import NoteSearchEntry
from app.notes.search_text import SearchQuery, note_search_body
from app.notes.timeline import ChartFilter, NotePage, current_notes, page_of

#: The FTS5 trigram index needs three characters to use its index.
_TRIGRAM = 3
#: The SQLite FTS5 table (migration chartb_0001); MATCH takes the table's own name on its left.
_FTS = table("note_search_fts", column("rowid"))


@event.listens_for(Session, "after_flush")
def _index_new_versions(session: Session, _context) -> None:
    """Write the search text of the note versions this flush inserted (in the same transaction)."""
    rows = [{"note_id": n.id, "clinic_id": n.clinic_id, "patient_id": n.patient_id, "note_date": n.note_date,
             "body": note_search_body(n.subjective, n.objective, n.assessment, n.plan)}
            for n in session.new if isinstance(n, ProgressNote)]
    if rows:
        session.connection().execute(insert(NoteSearchEntry.__table__), rows)


def _escaped_like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _word_condition(session: Session, word: str, *, whole_clinic: bool) -> ColumnElement[bool]:
    # One patient's few thousand entries are read faster by LIKE through the patient index than by asking the FTS
    # table for every match in the clinic.
    if whole_clinic and session.get_bind().dialect.name == "sqlite" and len(word) >= _TRIGRAM:
        phrase = '"' + word.replace('"', '""') + '"'
        fts = select(_FTS.c.rowid).where(literal_column("note_search_fts").op("MATCH")(phrase))
        return NoteSearchEntry.note_id.in_(fts)
    return NoteSearchEntry.body.like(_escaped_like(word), escape="\\")


def search_notes(session: Session, clinic_id: int, query: SearchQuery, chart_filter: ChartFilter, *,
                 patient_id: int | None = None) -> NotePage:
    """A page of the current notes holding every word of the query: one patient's, or the clinic's (one query)."""
    if not query.words:
        return NotePage([], None)
    found = current_notes(clinic_id).join(NoteSearchEntry, NoteSearchEntry.note_id == ProgressNote.id).where(
        NoteSearchEntry.clinic_id == clinic_id)
    if patient_id is not None:
        found = found.where(NoteSearchEntry.patient_id == patient_id, ProgressNote.patient_id == patient_id)
    for word in query.words:
        found = found.where(_word_condition(session, word, whole_clinic=patient_id is None))
    return page_of(session, found, chart_filter, order_by=(NoteSearchEntry.note_date, NoteSearchEntry.note_id))
