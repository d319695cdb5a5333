"""Re-entering the password before an export or an erasure: a stolen session alone cannot take the data or erase it."""

from django import forms
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(label=_("Your password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, user, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.request = user, request

    def clean_password(self):
        password = self.cleaned_data["password"]
        if authenticate(self.request, username=self.user.email, password=password) != self.user:
            raise forms.ValidationError(_("That is not your password. Enter the password you log in with."),
                                        code="wrong_password")
        return password
