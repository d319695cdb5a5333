"""`manage.py processing_records [--format html|csv] [--language en|zh-hans] [--output PATH]`: the record of
processing activities (GDPR Art. 30; PIPL Art. 55-56) from the live catalogue, to standard output or a file.

A bad argument stops it with exit code 2 before anything is written; a file is written whole or not at all."""

import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from processing.render import FORMATS, LANGUAGES, record_render


class Command(BaseCommand):
    help = "Write the record of processing (purposes, recipients, transfers, retention, security) as HTML or CSV."

    def add_arguments(self, parser):
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="html", help="html (default) or csv")
        parser.add_argument("--language", choices=LANGUAGES, default="en", help="en (default) or zh-hans")
        parser.add_argument("--output", default=None, help="the file to write (default: standard output)")

    def handle(self, *args, fmt, language, output, **options):
        target = Path(output) if output else None
        if target is not None:
            if target.is_dir():
                raise CommandError(f"--output {output!r} is a directory; give a file name", returncode=2)
            if not target.parent.is_dir():
                raise CommandError(f"--output: the directory {str(target.parent)!r} does not exist", returncode=2)
        content = record_render(fmt=fmt, language=language)
        if target is None:
            sys.stdout.write(content)
            return
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
                file.write(content)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.stderr.write(f"Wrote the record of processing ({fmt}, {language}) to {target}")
