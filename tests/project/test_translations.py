"""Issue #8: every client-facing string exists in Simplified Chinese, and zh-hans clients see and receive Chinese.

The catalogue is locale/zh_Hans/LC_MESSAGES/django.po, compiled to the committed django.mo next to it. After changing
a translatable string: run the makemessages command below, translate what is new, then compilemessages.

    DEBUG=true .venv/bin/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=bench --ignore=tests \
        --ignore=var --ignore=node_modules
    DEBUG=true .venv/bin/python manage.py compilemessages -l zh_Hans --ignore=.venv
"""

import ast
import gettext
import html
import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from consent.models import Channel, ConsentAction, Purpose
from consent.services import consent_receipt_send, consent_record
from notify.models import OutboundMessage
from tests.conftest import make_client

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"
# What makemessages leaves out (as in the command above); "locale" so that the copy never writes into ours.
NOT_SCANNED = {".venv", "bench", "tests", "var", "node_modules", "locale", "__pycache__"}
SCANNED_SUFFIXES = {".py", ".html", ".txt"}  # makemessages' defaults for the django domain
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|%%|\{\{\s*[\w.|]+\s*\}\}|<[^>]+>")
CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


# --- a small .po reader (no polib in the venv) ----------------------------------------------------------------------

def po_read(path: Path) -> tuple[dict, dict]:
    """The header and the entries of a .po file: {(msgctxt, msgid, msgid_plural): {"msgstr": [...], "fuzzy": bool}}.

    Obsolete entries (#~) are left out: gettext ignores them too."""
    entries, header = {}, {}
    entry, field = None, None

    def finish():
        if entry and entry["msgid"] is not None:
            if entry["msgid"] == "" and entry["msgctxt"] is None:
                header.update(entry)
            else:
                key = (entry["msgctxt"], entry["msgid"], entry["msgid_plural"])
                entries[key] = {"msgstr": [entry["msgstr"][k] for k in sorted(entry["msgstr"])], "fuzzy": entry["fuzzy"]}

    def fresh():
        return {"msgctxt": None, "msgid": None, "msgid_plural": None, "msgstr": {}, "fuzzy": False}

    entry = fresh()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or (line.startswith("#") and entry["msgid"] is not None):
            finish()
            entry, field = fresh(), None
        if not line.strip() or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            entry["fuzzy"] = "fuzzy" in [flag.strip() for flag in line[2:].split(",")]
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            text = ast.literal_eval(line)
        else:
            text = ast.literal_eval(rest)
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            field = ("msgstr", int(match.group(1))) if match else ("msgstr", 0) if keyword == "msgstr" else (keyword, None)
            if field[0] == "msgstr":
                entry["msgstr"][field[1]] = ""
            else:
                entry[field[0]] = ""
        if field[0] == "msgstr":
            entry["msgstr"][field[1]] += text
        else:
            entry[field[0]] += text
    finish()
    return header, entries


@pytest.fixture(scope="module")
def catalogue():
    return po_read(PO)


def show(key) -> str:
    msgctxt, msgid, plural = key
    return (f"[{msgctxt}] " if msgctxt else "") + repr(msgid) + (f" / {plural!r}" if plural else "")


def placeholders(text: str) -> list[str]:
    return sorted(re.sub(r"\s+", "", found) for found in PLACEHOLDER.findall(text))


# --- the catalogue itself ---------------------------------------------------------------------------------------------

def test_catalogue_header_declares_simplified_chinese_utf8_and_one_plural_form(catalogue):
    header, _ = catalogue
    fields = dict(line.split(": ", 1) for line in header["msgstr"][0].splitlines() if ": " in line)
    assert fields["Language"] == "zh_Hans"
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"] == "nplurals=1; plural=0;"
    assert not header["fuzzy"], "a fuzzy header makes msgfmt ignore the charset and plural forms"


def test_every_message_has_a_chinese_translation_and_none_is_fuzzy(catalogue):
    _, entries = catalogue
    assert len(entries) > 500, "the catalogue looks truncated"
    untranslated = [show(key) for key, entry in entries.items() if not all(s.strip() for s in entry["msgstr"])]
    fuzzy = [show(key) for key, entry in entries.items() if entry["fuzzy"]]
    plural_forms = [show(key) for key, entry in entries.items() if key[2] is not None and len(entry["msgstr"]) != 1]
    assert not untranslated, "untranslated in zh_Hans:\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy (unchecked) in zh_Hans:\n" + "\n".join(fuzzy)
    assert not plural_forms, "Chinese has exactly one plural form (msgstr[0]):\n" + "\n".join(plural_forms)


def test_translations_keep_every_placeholder_and_tag_of_the_english(catalogue):
    _, entries = catalogue
    wrong = []
    for key, entry in entries.items():
        _, msgid, plural = key
        expected = placeholders(msgid)
        if plural is not None and placeholders(plural) != expected:
            expected = placeholders(plural)  # e.g. "one item" / "%(counter)s items": the Chinese form is the plural
        for msgstr in entry["msgstr"]:
            if placeholders(msgstr) != expected:
                wrong.append(f"{show(key)}\n    needs {expected}, has {placeholders(msgstr)}")
            if msgid.startswith("\n") != msgstr.startswith("\n") or msgid.endswith("\n") != msgstr.endswith("\n"):
                wrong.append(f"{show(key)}\n    leading/trailing newline differs from the English")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_committed_mo_is_compiled_from_the_committed_po(catalogue):
    header, entries = catalogue
    with MO.open("rb") as fp:
        compiled = dict(gettext.GNUTranslations(fp)._catalog)
    # msgfmt leaves POT-Creation-Date out of the compiled header; it changes at every makemessages anyway.
    expected = {"": re.sub(r"POT-Creation-Date: [^\n]*\n", "", header["msgstr"][0])}
    for (msgctxt, msgid, plural), entry in entries.items():
        key = f"{msgctxt}\x04{msgid}" if msgctxt is not None else msgid
        if plural is None:
            expected[key] = entry["msgstr"][0]
        else:
            expected.update({(key, n): msgstr for n, msgstr in enumerate(entry["msgstr"])})
    stale = sorted(str(k) for k in expected.keys() ^ compiled.keys()) + sorted(
        str(k) for k in expected.keys() & compiled.keys() if expected[k] != compiled[k])
    assert not stale, "django.mo differs from django.po; run compilemessages:\n" + "\n".join(stale[:50])


def test_catalogue_covers_every_translatable_string_in_the_code(catalogue, tmp_path, settings, monkeypatch):
    """Extract the strings marked for translation from a copy of the code, as makemessages does, and compare."""
    missing_programs = [p for p in ("xgettext", "msguniq", "msgmerge") if not shutil.which(p)]
    if missing_programs:
        pytest.skip(f"GNU gettext is not installed ({', '.join(missing_programs)} missing), so strings cannot be extracted")
    source, base = tmp_path / "source", Path(settings.BASE_DIR)
    for directory, subdirectories, files in os.walk(base):
        subdirectories[:] = [d for d in subdirectories if d not in NOT_SCANNED and not d.startswith(".")]
        for name in files:
            if Path(name).suffix in SCANNED_SUFFIXES:
                copy = source / Path(directory).relative_to(base) / name
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(directory) / name, copy)
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(source)
    call_command("makemessages", locale=["zh_Hans"], verbosity=0)

    _, extracted = po_read(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    _, entries = catalogue
    missing = sorted(show(key) for key in extracted.keys() - entries.keys())
    assert len(extracted) > 500, "extraction found too little; is the copy complete?"
    assert not missing, (f"{len(missing)} translatable strings are not in the zh_Hans catalogue; run makemessages, "
                         "translate them and compilemessages:\n" + "\n".join(missing))


# --- what a zh-hans client sees --------------------------------------------------------------------------------------

def english_sentences(entries) -> list[str]:
    """Catalogue strings that are plainly English prose: several words, no placeholders, translated differently."""
    return [msgid for (_, msgid, plural), entry in entries.items()
            if plural is None and " " in msgid.strip() and len(msgid) >= 8 and not PLACEHOLDER.search(msgid)
            and entry["msgstr"][0] != msgid]


def assert_chinese_page(response, entries):
    assert response.status_code == 200
    page = response.content.decode()
    assert 'lang="zh-hans"' in page and CJK.search(page)
    text = html.unescape(re.sub(r"\s+", " ", page))
    leftovers = [s for s in english_sentences(entries) if s in text]
    assert not leftovers, f"{response.request['PATH_INFO']} shows English in zh-hans:\n" + "\n".join(leftovers)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["home", "login", "signup", "signup_sent", "password_reset", "policy:current",
                                  "policy:versions", "transparency:report", "rights:public_request_new",
                                  "consent_log:about", "consent:do_not_sell"])
def test_public_pages_in_chinese_show_no_english_sentence_of_the_catalogue(client, catalogue, name):
    assert_chinese_page(client.get(reverse(name), **ZH), catalogue[1])


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["portal:dashboard", "consent:choices", "consent:history", "sharing:received",
                                  "rights:data", "rights:correct", "rights:export", "rights:erase", "rights:object",
                                  "rights:question_new"])
def test_client_pages_in_chinese_show_no_english_sentence_of_the_catalogue(client, catalogue, name):
    zh_client = make_client("zh@example.com", country="CN", phone="+8613800138000", full_name="王芳",
                            preferred_language="zh-hans")
    client.force_login(zh_client.user)
    assert_chinese_page(client.get(reverse(name), **ZH), catalogue[1])


@pytest.mark.django_db
def test_signup_in_chinese_lists_the_countries_in_chinese(client):
    page = client.get(reverse("signup"), **ZH).content.decode()
    assert "德国" in page and ">Germany<" not in page


def test_your_data_in_chinese_gives_the_consent_retention_in_chinese(client, zh_client):
    client.force_login(zh_client.user)
    page = html.unescape(client.get(reverse("rights:data"), **ZH).content.decode())
    assert "For as long as the account exists" not in page and "作为同意的证明" in page


@pytest.mark.django_db
def test_language_cookie_from_the_switcher_drives_the_page_language(client, catalogue):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert_chinese_page(client.get(reverse("login")), catalogue[1])


# --- what a zh-hans client receives ----------------------------------------------------------------------------------

@pytest.fixture
def zh_client(db):
    return make_client("zh@example.com", country="CN", phone="+8613800138000", full_name="王芳", preferred_language="zh-hans")


def assert_chinese_message(message):
    assert CJK.search(message.subject) and CJK.search(message.body), f"not in Chinese:\n{message.subject}\n{message.body}"
    assert "Hello" not in message.body and "privacy team" not in message.body


def test_consent_receipt_of_a_change_made_in_the_chinese_portal_is_in_chinese(client, zh_client):
    client.force_login(zh_client.user)
    response = client.post(reverse("consent:change", args=["promotional-sharing"]), {"action": "grant"}, **ZH)
    assert response.status_code == 302
    assert_chinese_message(OutboundMessage.objects.get(kind="consent-receipt", client=zh_client))


def test_consent_receipt_is_in_the_clients_preferred_language_whoever_records_the_change(zh_client):
    purpose = Purpose.objects.get(code="promotional-sharing")
    with translation.override("en"):
        event, _ = consent_record(client=zh_client, purpose=purpose, action=ConsentAction.GRANT, channel=Channel.PORTAL)
        consent_receipt_send(event=event)
    assert_chinese_message(OutboundMessage.objects.get(kind="consent-receipt", client=zh_client))


def test_password_reset_mail_asked_for_in_chinese_is_in_chinese(client, zh_client):
    response = client.post(reverse("password_reset"), {"email": zh_client.email}, **ZH)
    assert response.status_code == 302
    message = OutboundMessage.objects.get(kind="password-reset", to=zh_client.email)
    assert CJK.search(message.subject) and CJK.search(message.body)
    assert "Someone asked" not in message.body


def test_password_reset_mail_follows_the_clients_preferred_language_not_the_page(client, zh_client):
    response = client.post(reverse("password_reset"), {"email": zh_client.email}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    message = OutboundMessage.objects.get(kind="password-reset", to=zh_client.email)
    assert CJK.search(message.subject) and CJK.search(message.body), f"not in Chinese:\n{message.subject}\n{message.body}"


def test_erasure_mail_follows_the_clients_preferred_language_not_the_page(client, zh_client, password):
    client.force_login(zh_client.user)
    response = client.post(reverse("rights:erase"), {"password": password}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    message = OutboundMessage.objects.get(kind="erasure-scheduled", client=zh_client)
    assert CJK.search(message.subject) and CJK.search(message.body), f"not in Chinese:\n{message.subject}\n{message.body}"
    assert "erased on" not in message.subject


def test_erasure_mail_to_a_chinese_client_has_no_english_signature(client, zh_client, password):
    client.force_login(zh_client.user)
    client.post(reverse("rights:erase"), {"password": password}, **ZH)
    message = OutboundMessage.objects.get(kind="erasure-scheduled", client=zh_client)
    assert "privacy team" not in message.body


def test_gettext_in_zh_hans_uses_the_catalogue():
    with translation.override("zh-hans"):
        assert translation.gettext("Your choices") == "您的选择"
        assert translation.ngettext("%(counter)s record, newest first. Times are in %(tz)s.",
                                    "%(counter)s records, newest first. Times are in %(tz)s.", 3) % {
            "counter": 3, "tz": "Asia/Shanghai"} == "3 条记录，按从新到旧排列。时间均为 Asia/Shanghai 时间。"
