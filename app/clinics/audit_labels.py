"""The 操作・閲覧記録 in staff language: each audit action and each look at a record said as staff say it
(「処方を発行」, 「閲覧：検査結果」), grouped into the kinds of action the screen filters by. The stored entries
(and their hash chain) are untouched: this only reads them."""

from __future__ import annotations

from app.patients.profile_forms import KINDS as PROFILE_KINDS

#: The kinds of change staff filter the audit trail by.
AUDIT_CATEGORIES = {"create": "登録・発行", "update": "修正", "retract": "取消・削除",
                    "external": "外部システムとの連携", "account": "ログイン・アカウント", "settings": "設定"}

#: Every audit action the application writes: what it says, and its kind.
AUDIT_ACTIONS: dict[str, tuple[str, str]] = {
    "auth.login": ("ログイン", "account"),
    "auth.login_failed": ("ログインに失敗", "account"),
    "auth.login_refused_locked": ("ロック中のためログインを拒否", "account"),
    "auth.locked": ("失敗が続いたためアカウントをロック", "account"),
    "auth.logout": ("ログアウト", "account"),
    "auth.password_changed": ("パスワードを変更", "account"),
    "auth.recovery_code_used": ("回復コードでログイン", "account"),
    "auth.totp_enrolled": ("認証アプリを登録", "account"),
    "auth.unlock_failed": ("画面ロックの解除に失敗", "account"),
    "staff.create": ("職員アカウントを作成", "account"),
    "staff.update": ("職員アカウントを変更", "account"),
    "staff.reset_credentials": ("職員のパスワードと認証アプリを再設定", "account"),
    "security.csrf_rejected": ("正しくない送信（CSRF）を拒否", "account"),
    "clinic.update": ("医院の設定を変更", "settings"),
    "clinic.orca_settings": ("ORCAの接続設定を変更", "settings"),
    "clinic.pacs_settings": ("PACS（画像サーバー）の接続設定を変更", "settings"),
    "clinic.sharing_settings": ("電子カルテ情報共有サービスの接続設定を変更", "settings"),
    "lab.settings": ("検査会社の接続設定を変更", "settings"),
    "partner.register": ("連携アプリケーションを登録", "settings"),
    "partner.update": ("連携アプリケーションのスコープ・上限を変更", "settings"),
    "partner.rotate_secret": ("連携アプリケーションのシークレットを切替", "settings"),
    "partner.revoke_tokens": ("連携アプリケーションのトークンを取消", "settings"),
    "partner.deactivate": ("連携アプリケーションを無効化", "settings"),
    "partner.activate": ("連携アプリケーションを有効化", "settings"),
    "partner.webhook": ("連携アプリケーションのWebhookを変更", "settings"),
    "partner.webhook_secret": ("連携アプリケーションのWebhook署名鍵を作り直し", "settings"),
    "partner.token_issued": ("連携アプリケーションがトークンを取得", "account"),
    "partner.token_revoked": ("連携アプリケーションがトークンを返却", "account"),
    "demo.seed_clinic": ("デモ医院を作成", "settings"),
    "demo.seed_staff": ("デモ職員を作成", "settings"),
    "patient.create_from_orca": ("ORCAの患者を登録", "external"),
    "patient.update_from_orca": ("ORCAでの患者情報の変更を反映", "external"),
    "visit.register": ("受付を登録", "create"),
    "visit.status": ("受付の状態を変更", "update"),
    "visit.orca_registered": ("受付をORCAに登録", "external"),
    "diagnosis.create": ("傷病名を登録", "create"),
    "diagnosis.correct": ("傷病名を修正", "update"),
    "diagnosis.end": ("傷病名の転帰を登録", "update"),
    "diagnosis.retract": ("傷病名を取り消し", "retract"),
    "prescription.issue": ("処方を発行", "create"),
    "prescription.cancel": ("処方を取り消し", "retract"),
    "prescription.eprescription_registered": ("電子処方箋を登録", "external"),
    "prescription.orca_billed": ("処方の会計データをORCAへ送信", "external"),
    "prescription.orca_billing_deleted": ("処方の会計データをORCAから削除", "external"),
    "lab.order": ("検査を依頼", "create"),
    "lab.order_cancelled": ("検査依頼を取り消し", "retract"),
    "lab.order_accepted": ("検査会社が検査依頼を受付", "external"),
    "lab.order_rejected": ("検査会社が検査依頼を拒否", "external"),
    "lab.order_cancel_accepted": ("検査会社が検査依頼の取り消しを受付", "external"),
    "lab.results_imported": ("検査結果を取り込み", "external"),
    "lab.in_house_result": ("院内検査の結果を記録", "create"),
    "lab_order.orca_billed": ("検査の会計データをORCAへ送信", "external"),
    "lab_order.orca_billing_deleted": ("検査の会計データをORCAから削除", "external"),
    "key_image.create": ("キー画像を登録", "create"),
    "key_image.correct": ("キー画像を修正", "update"),
    "key_image.retract": ("キー画像を取り消し", "retract"),
    "imaging.import": ("患者のCDから画像を取り込み", "create"),
    "note.create": ("経過記録を記載", "create"),
    "note.revise": ("経過記録を修正", "update"),
    "schema.create": ("シェーマを記載", "create"),
    "schema.revise": ("シェーマを修正", "update"),
    "chart.print": ("カルテ（診療録）を印刷", "create"),
    "letter.create": ("診療情報提供書を作成", "create"),
    "letter.update": ("診療情報提供書を修正", "update"),
    "letter.confirm": ("診療情報提供書を確定", "create"),
    "letter.printed": ("診療情報提供書を印刷済みにする", "update"),
    "letter.sent": ("診療情報提供書を送付済みにする", "update"),
    "letter.share": ("診療情報提供書の電子共有を依頼", "external"),
    "letter.shared": ("診療情報提供書を電子共有", "external"),
    "referral_destination.create": ("紹介先を登録", "create"),
    "referral_destination.update": ("紹介先を修正", "update"),
    "referral_destination.retire": ("紹介先を削除", "retract"),
    "sharing.consent": ("電子カルテ情報共有の同意を記録", "create"),
    "sharing.registered": ("6情報を電子カルテ情報共有サービスに登録", "external"),
    "sharing.replaced": ("電子カルテ情報共有サービスの6情報を差し替え", "external"),
    "sharing.withhold": ("6情報を「共有しない」に設定", "update"),
    "sharing.entry.adopt": ("他院の6情報を取り込み", "create"),
    "sharing.entry.dismiss": ("他院の6情報を採用しない", "update"),
    "outbox.retry": ("外部への送信をもう一度送る", "external"),
}
#: Profile items (バイタル, アレルギー …): their actions are profile.<slug>.<verb>.
_PROFILE_VERBS = {"create": ("を登録", "create"), "correct": ("を修正", "update"), "retract": ("を取り消し", "retract")}

#: Who acted when no staff member did (the login ID the system writes under).
SYSTEM_ACTORS = {"system": "システム（自動）", "orca-sync": "ORCA連携（自動）"}

ACCESS_ACTIONS = {"view": "閲覧", "print": "印刷", "export": "出力", "search": "検索", "patient_view": "患者への提示"}

#: The screens and documents of the access log (the resource up to its first ":").
SCREENS = {
    "api": "連携API（外部アプリケーション）",
    "patient.page": "患者の基本画面", "patient.profile": "プロフィール", "patient.vitals": "バイタル",
    "patient.diagnoses": "傷病名", "patient.diagnoses.history": "傷病名の履歴",
    "patient.prescriptions": "処方の一覧", "patient.prescriptions.new": "処方の入力", "prescription": "処方",
    "patient.labs": "検査結果", "patient.labs.history": "検査結果の履歴", "lab_order": "検査依頼",
    "lab_order_hl7": "検査依頼の電文（HL7）", "lab_message": "検査結果の電文（HL7）", "lab_labels": "検体ラベル",
    "patient.images": "画像の一覧", "patient.images.study": "画像（検査）",
    "patient.images.thumbnail": "画像の縮小表示",
    "patient.images.image": "画像", "patient.key_image": "キー画像", "patient.key_image.history": "キー画像の履歴",
    "patient.notes": "経過記録", "patient.notes.edit": "経過記録の記載", "patient.notes.history": "経過記録の履歴",
    "patient.chart": "カルテ", "patient.chart.search": "カルテの検索", "patient.chart.print_form": "カルテの印刷画面",
    "clinic.chart.search": "院内カルテ検索", "chart": "カルテ（診療録）", "patient.schemas": "シェーマの一覧",
    "patient.schemas.new": "シェーマの記載", "patient.schemas.edit": "シェーマの編集",
    "patient.schemas.history": "シェーマの履歴", "patient.schema": "シェーマ",
    "patient.letters": "診療情報提供書の一覧", "patient.letters.new": "診療情報提供書の作成",
    "letter": "診療情報提供書",
    "received": "他院から届いた文書", "patient.sharing": "電子カルテ情報共有（6情報）",
    "referral_destinations": "紹介先の一覧", "referral_destination": "紹介先", "audit.csv": "操作記録（CSV）",
    "access-log.csv": "閲覧記録（CSV）",
}


def audit_action_label(action: str) -> str:
    """An audit action in Japanese (an unknown one as its own words, never dropped)."""
    known = AUDIT_ACTIONS.get(action)
    if known:
        return known[0]
    parts = action.split(".")
    if len(parts) == 3 and parts[0] == "profile" and parts[2] in _PROFILE_VERBS:
        kind = PROFILE_KINDS.get(parts[1])
        return f"{kind.label if kind else parts[1]}{_PROFILE_VERBS[parts[2]][0]}"
    return action


def audit_category_patterns(category: str) -> tuple[list[str], list[str]]:
    """The actions of a kind: exact names, and LIKE patterns (the profile items')."""
    exact = [action for action, (_label, kind) in AUDIT_ACTIONS.items() if kind == category]
    patterns = [f"profile.%.{verb}" for verb, (_suffix, kind) in _PROFILE_VERBS.items() if kind == category]
    return exact, patterns


def access_label(action: str, resource: str) -> str:
    """A look at a record in Japanese: 「閲覧：検査結果」 (a search says what was searched for)."""
    verb = ACCESS_ACTIONS.get(action, action)
    if resource.startswith("patients?q="):
        return f"{verb}：患者検索「{resource.removeprefix('patients?q=')}」"
    key = resource.split(":", 1)[0]
    screen = SCREENS.get(key)
    if screen is None and key.startswith("patient.profile."):
        slug = key.removeprefix("patient.profile.")
        history = slug.endswith(".history")
        kind = PROFILE_KINDS.get(slug.removesuffix(".history"))
        screen = f"{kind.label}{'の履歴' if history else ''}" if kind else None
    return f"{verb}：{screen or 'その他の画面'}"
