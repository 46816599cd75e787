"""What an operator checks before starting Kamikarte (`flask --app wsgi check`): the configuration (and the transfer
folder and webhook hosts it names), the database and its schema, the clinics' outside connections that need
credentials, and partner webhooks the hosts no longer allow."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.config import ROOT, Config
from app.imaging.pacs import PacsSettings
from app.partners.models import PartnerApp
from app.partners.webhook_hosts import WebhookHosts, refusal


@dataclass(frozen=True)
class CheckLine:
    """One line of the check: what was looked at, what was found, and whether it stops a start."""

    subject: str
    message: str
    ok: bool
    fatal: bool = False


def check_configuration(config: Config) -> list[CheckLine]:
    """The environment variables: each problem named by its variable (fatal in production)."""
    lines = [CheckLine(p.variable, p.message, ok=False, fatal=p.fatal) for p in config.problems()]
    mode = "本番（KAMIKARTE_ENV=production）" if config.is_production else "1台構成（デモ・小規模）"
    return [CheckLine("KAMIKARTE_ENV", f"動作モード: {mode}", ok=True), *lines, *check_transfer_dir(config),
            check_webhook_hosts(config)]


def check_webhook_hosts(config: Config) -> CheckLine:
    """Which hosts partner webhooks may go to (KAMIKARTE_WEBHOOK_HOSTS and …_INTERNAL_HOSTS; an entry the lists
    cannot hold is a configuration problem above)."""
    allowed = WebhookHosts.from_settings(config.WEBHOOK_HOSTS, config.WEBHOOK_INTERNAL_HOSTS)
    if not allowed.public and not allowed.internal:
        return CheckLine("KAMIKARTE_WEBHOOK_HOSTS", "未設定: 連携アプリケーションのWebhookは登録も送信もできません",
                         ok=True)
    internal = f"／院内（http・院内アドレス可）: {allowed.internal.describe()}" if allowed.internal else ""
    return CheckLine("KAMIKARTE_WEBHOOK_HOSTS", f"Webhookの送信先（https）: {allowed.public.describe() or 'なし'}"
                     f"{internal}", ok=True)


def check_transfer_dir(config: Config) -> list[CheckLine]:
    """KAMIKARTE_TRANSFER_DIR exists and this user may write there: the web processes keep uploaded imports in it
    and the transfer worker writes exports there (fatal in production, where instance/ is read-only)."""
    folder = Path(config.TRANSFER_DIR)
    if not folder.is_dir():
        return [CheckLine("KAMIKARTE_TRANSFER_DIR", f"フォルダー {folder} がありません（書き出し・取り込みに必要。"
                          "Webとtransfer-workerが同じフォルダーを使います）", ok=False, fatal=config.is_production)]
    try:  # a real write: access() says yes to root, and a read-only mount (ProtectSystem=strict) is found only so
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return [CheckLine("KAMIKARTE_TRANSFER_DIR", f"フォルダー {folder} に書き込めません"
                          "（このユーザーに書き込み権限を与えてください）", ok=False, fatal=config.is_production)]
    return [CheckLine("KAMIKARTE_TRANSFER_DIR", f"書き出し・取り込みのフォルダー {folder} に書き込めます", ok=True)]


def check_database(session: Session) -> list[CheckLine]:
    """The database answers and its schema is at the newest migration."""
    try:
        connection = session.connection()
        current = MigrationContext.configure(connection).get_current_heads()
    except SQLAlchemyError as exc:
        return [CheckLine("DATABASE_URL", f"接続できません: {str(exc).splitlines()[0]}", ok=False, fatal=True)]
    heads = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    if set(current) != set(heads):
        message = (f"スキーマが最新ではありません（現在 {', '.join(current) or 'なし'} / 最新 {', '.join(heads)}）: "
                   "flask --app wsgi db upgrade を実行してください")
        return [CheckLine("DATABASE_URL", message, ok=False, fatal=True)]
    return [CheckLine("DATABASE_URL", f"接続でき、スキーマは最新です（{', '.join(heads)}）", ok=True)]


def check_connections(session: Session) -> list[CheckLine]:
    """Each clinic's PACS (Orthanc) connection has its credentials; an open PACS is refused by Kamikarte's rules."""
    lines = []
    for clinic in session.scalars(select(Clinic).order_by(Clinic.id)):
        pacs = PacsSettings.of(clinic)
        if pacs is None:
            continue
        if not pacs.username or not pacs.password:
            lines.append(CheckLine(f"PACS {clinic.institution_code}", "ユーザー名またはパスワードが未設定です"
                                   "（管理 → PACS接続）", ok=False, fatal=True))
        else:
            lines.append(CheckLine(f"PACS {clinic.institution_code}", "認証情報あり", ok=True))
    return lines + _refused_webhooks(session)


def _refused_webhooks(session: Session) -> list[CheckLine]:
    """Active partner applications whose saved webhook URL the operator's hosts no longer allow (their events are
    refused at delivery): not fatal, the administrator changes the URL or the operator the list."""
    lines = []
    for app in session.scalars(select(PartnerApp).where(PartnerApp.active.is_(True),
                                                        PartnerApp.webhook_url.is_not(None)).order_by(PartnerApp.id)):
        why = refusal(app.webhook_url or "")
        if why:
            lines.append(CheckLine(f"Webhook {app.name}", why, ok=False))
    return lines
