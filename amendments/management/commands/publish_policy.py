"""`manage.py publish_policy --file PATH [--file-zh PATH] --version LABEL --summary TEXT --effective-in-days N [--material]`"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from amendments.services import policy_draft_save, policy_publish


def _read(path: str | None, option: str) -> str:
    if path is None:
        return ""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{option}: no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{option}: cannot read {path}: {exc}") from None
    if not text.strip():
        raise CommandError(f"{option}: {path} is empty")
    return text


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise CommandError(f"--effective-in-days takes a whole number of days, not {value!r}") from None
    if days < 0:
        raise CommandError("--effective-in-days cannot be negative")
    return days


class Command(BaseCommand):
    help = "Publish a new policy version from Markdown files (the same service as the admin's publish action)."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # The issue names the option --version, which Django's own --version would shadow.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--file", required=True, help="the English text, Markdown")
        parser.add_argument("--file-zh", help="the Simplified Chinese text, Markdown")
        parser.add_argument("--version", required=True, dest="label", help="the version label, e.g. 2.0")
        parser.add_argument("--summary", required=True, help="what changed, in one or two sentences")
        parser.add_argument("--summary-zh", default="", help="the summary in Simplified Chinese")
        parser.add_argument("--effective-in-days", required=True, type=_days)
        parser.add_argument("--material", action="store_true", help="new recipients, purposes or transfers abroad")

    def handle(self, *args, file, file_zh, label, summary, summary_zh, effective_in_days, material, **options):
        body_en, body_zh = _read(file, "--file"), _read(file_zh, "--file-zh")
        now = timezone.now()
        try:
            with transaction.atomic():
                version = policy_draft_save(label=label, summary=summary, summary_zh_hans=summary_zh, body_en=body_en,
                                            body_zh_hans=body_zh, is_material=material)
                version = policy_publish(version=version, effective_at=now + timedelta(days=effective_in_days), now=now)
        except ValidationError as exc:
            messages = "; ".join(f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v)
                                 for k, v in getattr(exc, "message_dict", {"__all__": exc.messages}).items())
            raise CommandError(messages) from None
        self.stdout.write(self.style.SUCCESS(
            f"Published version {version.label}, effective {timezone.localtime(version.effective_at):%Y-%m-%d %H:%M %Z}"
            f"{' (material change)' if material else ''}."))
