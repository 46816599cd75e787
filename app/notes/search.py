"""Full-text search of notes: a patient's chart, or the whole clinic (doctors). Every note version's folded text
is written to note_search_entry when the version is flushed (versions are never changed, so once is enough); a
query's words must all occur in a current note. Across the clinic, a word of three characters or more is found
through the trigram index (pg_trgm GIN on PostgreSQL, the FTS5 trigram table on SQLite); a word of one or two
characters, which no trigram index can serve, through the index of every note's characters and character pairs
(migration chart_0001: a GIN index on note_search_grams(body) on PostgreSQL, the FTS5 table note_search_chars of
single-character tokens on SQLite), LIKE rechecking the few rows found. One patient's notes are read by LIKE."""

from __future__ import annotations

from sqlalchemy import Text, and_, cast, column, event, func, insert, literal_column, select, table
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.notes.models import ProgressNote
from app.notes.search_models import NoteSearchEntry
from app.notes.search_text import SearchQuery, note_search_body
from app.notes.timeline import ChartFilter, NotePage, current_notes, page_of

#: The FTS5 trigram index needs three characters to use its index.
_TRIGRAM = 3
#: Fewer entries than this holding a short word make it rare: found through its index, not by reading in order.
RARE_ENOUGH = 500
#: The SQLite FTS5 tables (migrations chartb_0001, chart_0001); MATCH takes the table's own name on its left.
_FTS = table("note_search_fts", column("rowid"))
_CHARS = table("note_search_chars", column("rowid"), column("body"))


def spaced(body: str) -> str:
    """The search text as note_search_chars keeps it (SQLite): every character a token of its own."""
    return " ".join(body)


@event.listens_for(Session, "after_flush")
def _index_new_versions(session: Session, _context) -> None:
    """Write the search text of the note versions this flush inserted (in the same transaction)."""
    rows = [{"note_id": n.id, "clinic_id": n.clinic_id, "patient_id": n.patient_id, "note_date": n.note_date,
             "body": note_search_body(n.subjective, n.objective, n.assessment, n.plan)}
            for n in session.new if isinstance(n, ProgressNote)]
    if rows:
        connection = session.connection()
        connection.execute(insert(NoteSearchEntry.__table__), rows)
        if connection.dialect.name == "sqlite":  # PostgreSQL's gram index follows the entries by itself
            connection.execute(insert(_CHARS), [{"rowid": r["note_id"], "body": spaced(r["body"])} for r in rows])


def _escaped_like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _short_word_index(session: Session, word: str) -> ColumnElement[bool]:
    """The entries holding a word of one or two characters, from the index of characters and pairs."""
    if session.get_bind().dialect.name == "sqlite":
        return NoteSearchEntry.note_id.in_(select(_CHARS.c.rowid).where(
            literal_column("note_search_chars").op("MATCH")(_phrase(spaced(word)))))
    return func.note_search_grams(NoteSearchEntry.body).op("@>")(array([cast(word, Text)]))


def _rarest_short_word(session: Session, clinic_id: int, words: tuple[str, ...]) -> tuple[str, list[int]] | None:
    """The query's word of one or two characters that the fewest of the clinic's entries hold, with those entries,
    when they are few (under RARE_ENOUGH); None otherwise. A rare word is found through its index; a common one is
    found quicker by reading the newest entries in order until a page is full. Neither database can tell which is
    which beforehand (a character's frequency is not in their statistics), so the index is asked, up to
    RARE_ENOUGH entries a word."""
    rarest: tuple[str, list[int]] | None = None
    for word in (w for w in words if len(w) < _TRIGRAM):
        held = list(session.scalars(select(NoteSearchEntry.note_id).where(
            NoteSearchEntry.clinic_id == clinic_id, _short_word_index(session, word)).limit(RARE_ENOUGH)))
        if len(held) < RARE_ENOUGH and (rarest is None or len(held) < len(rarest[1])):
            rarest = (word, held)
    return rarest


def _contains(session: Session, word: str) -> ColumnElement[bool]:
    """The entry holds the word, as a plain string test: no index can take it, so that PostgreSQL never answers a
    word shorter than a trigram through the pg_trgm index (which would read the whole index for it)."""
    position = func.instr if session.get_bind().dialect.name == "sqlite" else func.strpos
    return position(NoteSearchEntry.body, word) > 0


def _word_condition(session: Session, word: str, *, whole_clinic: bool,
                    rare: tuple[str, list[int]] | None) -> ColumnElement[bool]:
    if len(word) < _TRIGRAM:
        # One or two characters: a rare one among the entries its index found (the string test rechecks them, so
        # the answer is exact whatever the index's tokenizer makes of a symbol); a common one, and one patient's
        # few thousand entries, by the string test on the entries read in order.
        contains = _contains(session, word)
        return and_(NoteSearchEntry.note_id.in_(rare[1]), contains) if rare and rare[0] == word else contains
    like = NoteSearchEntry.body.like(_escaped_like(word), escape="\\")
    # One patient's entries are read faster by LIKE through the patient index than by asking an index for every
    # match in the clinic.
    if whole_clinic and session.get_bind().dialect.name == "sqlite":
        return NoteSearchEntry.note_id.in_(select(_FTS.c.rowid).where(
            literal_column("note_search_fts").op("MATCH")(_phrase(word))))
    return like  # pg_trgm's GIN index answers LIKE itself


def search_notes(session: Session, clinic_id: int, query: SearchQuery, chart_filter: ChartFilter, *,
                 patient_id: int | None = None) -> NotePage:
    """A page of the current notes holding every word of the query: one patient's, or the clinic's (one query,
    after counting how rare its short words are)."""
    if not query.words:
        return NotePage([], None)
    found = current_notes(clinic_id).join(NoteSearchEntry, NoteSearchEntry.note_id == ProgressNote.id).where(
        NoteSearchEntry.clinic_id == clinic_id)
    if patient_id is not None:
        found = found.where(NoteSearchEntry.patient_id == patient_id, ProgressNote.patient_id == patient_id)
    rare = _rarest_short_word(session, clinic_id, query.words) if patient_id is None else None
    for word in query.words:
        found = found.where(_word_condition(session, word, whole_clinic=patient_id is None, rare=rare))
    return page_of(session, found, chart_filter, order_by=(NoteSearchEntry.note_date, NoteSearchEntry.note_id))
