"""Keyboard only — Tab, Shift+Tab, Enter, Space, typing — through the opt-out and the export, with the focus always seen."""

import re

import pytest
from playwright.sync_api import expect

from consent.models import Channel, ConsentEvent, ConsentState
from rights.models import DataExport
from tests.conftest import PASSWORD, make_client

from .a11y import focus_is_visible, focused, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROMO = "Promotional sharing with affiliated companies"


def skip_to_main(page):
    """The first Tab of a fresh page reaches the skip link, shown on focus; Enter moves the focus into <main>."""
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to main content" and focus_is_visible(page)
    expect(page.locator(".skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def keyboard_log_in(page, email):
    page.goto("/")
    skip_to_main(page)
    tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Log in")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    assert focused(page)["id"] == "id_username" and focus_is_visible(page)  # the form's first field has the focus
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "id_password" and focus_is_visible(page)
    page.keyboard.type(PASSWORD)
    tab_to(page, lambda f: f["id"] == "id_username", backwards=True)  # back to check the email, and forward again
    assert page.locator("#id_username").input_value() == email
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Log in")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/portal/$"))


def test_a_client_opts_out_of_promotional_sharing_by_keyboard_in_one_action(page):
    client = make_client("keys@example.com", country="US", region="US-CA", phone="+14155552671", full_name="Keyboard Client")
    assert ConsentState.objects.get(client=client, purpose__code="promotional-sharing").granted
    keyboard_log_in(page, "keys@example.com")

    skip_to_main(page)
    tab_to(page, lambda f: f["text"] == "Review your choices")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your choices")

    skip_to_main(page)
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == f"Withdraw consent: {PROMO}", limit=80)
    page.keyboard.press("Space")

    expect(page.get_by_role("status")).to_contain_text(f"Your consent to “{PROMO}” was withdrawn at")
    expect(page.get_by_role("region", name=PROMO).locator(".badge")).to_have_text("Withdrawn")
    skip_to_main(page)  # the skip link leads to <main>, where the confirmation is
    expect(page.locator("#main:focus [role=status]")).to_contain_text("was withdrawn")
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == f"Give consent: {PROMO}", limit=80)

    event = ConsentEvent.objects.filter(client=client, purpose__code="promotional-sharing").latest("sequence")
    assert (event.action, event.channel) == ("withdraw", Channel.PORTAL)
    assert ConsentState.objects.get(client=client, purpose__code="promotional-sharing").granted is False


def test_a_client_asks_for_an_export_by_keyboard_re_entering_their_password(page, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    owner = make_client("export.keys@example.com", full_name="Export Keys")
    keyboard_log_in(page, "export.keys@example.com")

    skip_to_main(page)
    tab_to(page, lambda f: f["text"] == "Download a copy")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Download a copy of your data")

    skip_to_main(page)
    tab_to(page, lambda f: f["id"] == "id_password")
    page.keyboard.type("not my password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("That is not your password")
    assert not DataExport.objects.exists()

    skip_to_main(page)  # the error summary comes first; its link takes the focus back to the field
    tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Your password")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "id_password" and focus_is_visible(page)
    page.keyboard.type(PASSWORD)
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Prepare my file")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").first).to_contain_text("We are preparing your export")
    [export] = DataExport.objects.filter(client=owner)
    assert export.status == DataExport.Status.READY
    tab_to(page, lambda f: f["tag"] == "a" and f["text"].startswith("Download"), limit=80)  # the new file, in the list
