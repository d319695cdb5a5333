"""`manage.py staff_totp_enrol <email> [--reset]`: a staff login's second factor for the admin.

Prints the otpauth:// URI and the base32 secret once, for an authenticator app; run it with the staff member present.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.two_factor import AlreadyEnrolled, staff_totp_device, staff_totp_enrol, totp_secret, totp_uri


class Command(BaseCommand):
    help = "Give a staff login its TOTP device (two-factor authentication for the admin) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("email", help="the staff login's e-mail address")
        parser.add_argument("--reset", action="store_true",
                            help="replace the login's device: codes from the old one stop working at once")

    def handle(self, *args, email, reset, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No login with the e-mail {email!r}.")
        if not user.is_staff:
            raise CommandError(f"{user.email} is not staff: only staff logins use the admin and its second factor.")
        replacing = staff_totp_device(user) is not None
        try:
            device = staff_totp_enrol(user=user, reset=reset)
        except AlreadyEnrolled:
            raise CommandError(f"{user.email} already has a TOTP device; --reset replaces it "
                               "(the old codes stop working).") from None
        self.stdout.write(self.style.SUCCESS(f"{'Replaced' if replacing else 'Created'} the TOTP device of {user.email}."))
        self.stdout.write("Add it to an authenticator app now (scan the URI as a QR code or type the secret); "
                          "it is not shown again:")
        self.stdout.write(f"  URI:    {totp_uri(device)}")
        self.stdout.write(f"  secret: {totp_secret(device)}")
