"""The portal's and the API's cursors are sealed (accounts/keyset.py): their length tells nothing of the id inside,
a rotation of SECRET_KEY does not break a cursor given out before it, and nothing else opens."""

import pytest

from accounts.keyset import cursor_open, cursor_seal


def test_a_cursors_length_does_not_tell_how_many_digits_its_id_has():
    assert len({len(cursor_seal(f"1796681622222095.{record_id}")) for record_id in (5, 12345, 123456789012)}) == 1


def test_a_cursor_sealed_before_a_key_rotation_still_opens_and_new_ones_use_the_new_key(settings):
    before = cursor_seal("1796681622222095.42")
    settings.SECRET_KEY_FALLBACKS, settings.SECRET_KEY = [settings.SECRET_KEY], "a-new-secret-key-" + "x" * 40
    assert cursor_open(before) == "1796681622222095.42"
    after = cursor_seal("1796681622222095.42")
    settings.SECRET_KEY_FALLBACKS = []  # the old key retired: its cursors no longer open, the new ones do
    with pytest.raises(ValueError):
        cursor_open(before)
    assert cursor_open(after) == "1796681622222095.42"


@pytest.mark.parametrize("token", ["", "x", "é", "A" * 2000, cursor_seal("1.2", use="elsewhere")])
def test_anything_else_is_refused_with_a_value_error(token):
    with pytest.raises(ValueError):
        cursor_open(token)
