import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounts.models import Address, Client, IPObservation, User

pytestmark = pytest.mark.django_db

STAFF = {"privacy@demo.test": "Privacy officers", "legal@demo.test": "Legal", "legal2@demo.test": "Legal",
         "support@demo.test": "Support agents", "partners@demo.test": "Partner managers"}


def seed(*args):
    call_command("seed_demo", *args, verbosity=0)


def test_seed_demo_creates_the_demo_logins_with_the_given_password():
    seed("--password", "demo-pass-123")
    demo = Client.objects.get(email="client@demo.test")
    assert demo.user.check_password("demo-pass-123") and not demo.user.is_staff
    assert demo.phone.startswith("+") and demo.addresses.count() == 2 and demo.ip_observations.count() == 1
    for email, group in STAFF.items():
        user = User.objects.get(email=email)
        assert user.is_staff and user.check_password("demo-pass-123")
        assert list(user.groups.values_list("name", flat=True)) == [group]


def test_seed_demo_twice_changes_nothing_but_the_password():
    seed("--password", "first-pass-123")

    def counts():
        return [model.objects.count() for model in (User, Client, Address, IPObservation, Group)]

    before = counts()
    seed("--password", "second-pass-456")
    assert counts() == before
    assert User.objects.get(email="legal2@demo.test").check_password("second-pass-456")


def test_seed_demo_without_password_prints_a_random_one_that_works(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    password = out.split("(password: ")[1].split(")")[0]
    assert len(password) >= 12
    assert User.objects.get(email="client@demo.test").check_password(password)
    assert "support@demo.test" in out


def test_clients_option_adds_exactly_that_many_complete_clients():
    seed("--password", "demo-pass-123")
    before = Client.objects.count()
    seed("--password", "demo-pass-123", "--clients", "250")
    seed("--password", "demo-pass-123", "--clients", "50")
    synthetic = Client.objects.exclude(email="client@demo.test")
    assert Client.objects.count() == before + 300
    assert synthetic.filter(phone="").count() == 0
    assert synthetic.filter(addresses__isnull=True).count() == 0
    assert synthetic.filter(ip_observations__isnull=True).count() == 0
    assert synthetic.values("country").distinct().count() >= 5
    assert synthetic.filter(user__isnull=False).count() == 0


@pytest.mark.parametrize("bad", ["-3", "many"])
def test_clients_option_rejects_bad_counts_clearly(bad):
    with pytest.raises(CommandError, match="--clients"):
        seed("--clients", bad)
    assert not Client.objects.exists()


def test_seeded_clients_have_a_consent_state_per_purpose_by_their_jurisdiction_and_the_ledger_verifies(capsys):
    from consent.models import NOT_A_CHOICE, ConsentEvent, ConsentState, LegalBasis, Purpose

    seed("--password", "demo-pass-123", "--clients", "120", "--seed", "7")
    # Answers (to policy changes, to sign-up's age question) have no default (issue #18.12).
    consent_purposes = Purpose.objects.filter(legal_basis=LegalBasis.CONSENT).exclude(code__in=NOT_A_CHOICE).count()
    assert ConsentState.objects.count() == Client.objects.count() * consent_purposes
    assert set(ConsentEvent.objects.values_list("channel", flat=True)) == {"signup"}
    assert not ConsentState.objects.filter(client__jurisdiction__in=["eea", "uk", "cn"], granted=True).exists()
    assert not ConsentState.objects.filter(client__jurisdiction__in=["us-ca", "other"], granted=False).exists()
    assert ConsentEvent.objects.filter(policy_version__label="1.0").count() == ConsentEvent.objects.count()
    call_command("verify_ledger")
    assert "Ledger intact" in capsys.readouterr().out


def test_seed_demo_twice_leaves_the_three_demo_affiliates_with_one_agreement_and_one_recipient_consent_each():
    from sharing.models import Affiliate, RecipientConsent, SharingAgreement

    seed("--password", "demo-pass-123")
    seed("--password", "demo-pass-123")
    ads = Affiliate.objects.get(name="Demo Ads Network")
    dropship = Affiliate.objects.get(name="Demo Dropship Partner")
    assert (ads.kind, ads.country, dropship.kind, dropship.country) == (
        Affiliate.Kind.AFFILIATED_COMPANY, "HK", Affiliate.Kind.DROPSHIP_PARTNER, "CN")
    # Hong Kong is outside mainland China: the demo's recipient there transfers under a filed standard contract.
    assert ads.abroad and ads.transfer_mechanism == Affiliate.TransferMechanism.PIPL_STANDARD_CONTRACT
    assert ads.transfer_mechanism_reference and ads.address and ads.rights_contact
    demo = SharingAgreement.objects.exclude(affiliate__kind=Affiliate.Kind.PROCESSOR)  # the migration's processors aside
    agreements = {(a.affiliate.name, a.purpose.code, tuple(a.fields)) for a in demo.select_related("affiliate", "purpose")}
    assert agreements == {("Demo Ads Network", "promotional-sharing", ("email", "ip_address")),
                          ("Demo Loyalty Club", "promotional-sharing", ("email",)),
                          ("Demo Dropship Partner", "order-fulfilment", ("name", "phone", "shipping_address"))}
    assert Affiliate.objects.exclude(kind=Affiliate.Kind.PROCESSOR).count() == 3 and demo.count() == 3
    # Promotional sharing is consented to per recipient; order fulfilment with a partner in China needs no consent.
    assert sorted(RecipientConsent.objects.values_list("consent_purpose__code", flat=True)) == [
        "promotional-sharing--demo-ads-network", "promotional-sharing--demo-loyalty-club"]
    # The demo client's order is routed to the demo partner once, however often seed_demo runs.
    assert [(e.affiliate, e.order_reference) for e in dropship.engagements.all()] == [(dropship, "DEMO-ORDER-1")]
