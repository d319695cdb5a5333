"""The e-mail login backend: Django's ModelBackend, whose `get_user` also reads the login's client record.

Every portal page needs both the user (AuthenticationMiddleware) and the client behind it (`client_of_user`);
reading them in one statement (a LEFT JOIN on the one-to-one link) takes one statement off every page. Staff and
other logins without a client get no row from the join, and `client_of_user` answers None without asking again.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

BACKEND = "accounts.backends.ClientLoginBackend"


class ClientLoginBackend(ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = model._default_manager.select_related("client").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
