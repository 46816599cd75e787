"""Export and import jobs: queued by an administrator or the CLI, run by whichever process claims them first
(the job table is shared through the database), progress written as they go."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ClinicScoped, UTCDateTime, utcnow

EXPORT, IMPORT = "export", "import"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATE_LABELS = {QUEUED: "待機中", RUNNING: "実行中", DONE: "完了", FAILED: "失敗"}
KIND_LABELS = {EXPORT: "書き出し", IMPORT: "取り込み"}


class TransferJob(ClinicScoped, Base):
    """One export (the whole clinic or one patient) or one import of an export into this (empty) clinic."""

    __tablename__ = "transfer_job"
    __table_args__ = (Index("ix_transfer_job_state", "state", "id"),
                      Index("ix_transfer_job_clinic_newest", "clinic_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    #: An export of one patient (None: the whole clinic).
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    state: Mapped[str] = mapped_column(String(8), default=QUEUED)
    #: Patients done of the total (the progress shown).
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    #: The job's folder under TRANSFER_DIR (an export's files; an import's uploaded archive).
    folder: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    #: Counts per resource type (export) or per table (import), when done.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_by_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Written while running: a job whose heartbeat stopped (its process died) may be taken over.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def state_label(self) -> str:
        """待機中 / 実行中 / 完了 / 失敗."""
        return STATE_LABELS.get(self.state, self.state)

    @property
    def kind_label(self) -> str:
        """書き出し / 取り込み."""
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def percent(self) -> int:
        """Progress in percent."""
        if self.state == DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0
