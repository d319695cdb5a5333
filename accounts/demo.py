"""Demo people and synthetic clients for `manage.py seed_demo`.

The named demo logins go through the real services; synthetic clients are made in bulk from pools of
Faker values (generating every value with Faker would take minutes for 100,000 clients).
"""

import ipaddress
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from faker import Faker

from .bulk import ids_reserve, rows_insert
from .jurisdictions import jurisdiction_for
from .models import Address, Client, IPObservation, Language
from .services import address_add, client_register, ip_observation_record, staff_user_ensure

DEMO_CLIENT_EMAIL = "client@demo.test"
DEMO_STAFF = [
    ("privacy@demo.test", ["Privacy officers"]),
    ("legal@demo.test", ["Legal"]),
    ("legal2@demo.test", ["Legal"]),
    ("support@demo.test", ["Support agents"]),
    ("partners@demo.test", ["Partner managers"]),  # webhook endpoints and their delivery log (issue #19)
]


def demo_people_ensure(*, password: str) -> list[tuple[str, str]]:
    """The demo client and staff, created once and given `password` on every run. Returns (email, role)."""
    client = Client.objects.filter(email__iexact=DEMO_CLIENT_EMAIL).select_related("user").first()
    if client is None:
        client = client_register(
            email=DEMO_CLIENT_EMAIL,
            password=password,
            full_name="Mei Lin Chen",
            phone="+1 415 555 2671",
            country="US",
            region="US-CA",
            preferred_language=Language.EN,
        )
        address_add(client=client, kind=Address.Kind.RESIDENTIAL, country="US", line1="1200 Market Street", line2="Apt 5B",
                    city="San Francisco", region="CA", postcode="94102")
        address_add(client=client, kind=Address.Kind.OFFICE, country="CN", line1="Room 1808, Tower A, 9 Keyuan Road",
                    city="Shenzhen", region="Guangdong", postcode="518057")
        ip_observation_record(client=client, ip_address="203.0.113.24", context=IPObservation.Context.LOGIN)
    else:
        client.user.set_password(password)
        client.user.save(update_fields=["password"])
    logins = [(DEMO_CLIENT_EMAIL, "Client")]
    for email, groups in DEMO_STAFF:
        staff_user_ensure(email=email, password=password, groups=groups)
        logins.append((email, ", ".join(groups)))
    return logins


# Countries whose clients the synthetic data spreads across, with the Faker locale that writes them.
LOCALES = {
    "US": "en_US", "CN": "zh_CN", "DE": "de_DE", "GB": "en_GB", "FR": "fr_FR",
    "ES": "es_ES", "IT": "it_IT", "NL": "nl_NL", "AU": "en_AU", "CA": "en_CA",
}
US_REGIONS = ["US-CA", "US-CA", "US-NY", "US-TX", "US-WA", "US-FL"]
POOL = 400


@dataclass
class _CountryPool:
    first: list[str]
    last: list[str]
    streets: list[str]
    cities: list[str]
    postcodes: list[str]
    mobile: phonenumbers.PhoneNumber


def _country_pools(seed: int) -> dict[str, _CountryPool]:
    pools = {}
    for country, locale in LOCALES.items():
        fake = Faker(locale)
        fake.seed_instance(seed)
        pools[country] = _CountryPool(
            first=[fake.first_name() for _ in range(POOL)],
            last=[fake.last_name() for _ in range(POOL)],
            streets=[fake.street_address() for _ in range(POOL)],
            cities=[fake.city() for _ in range(POOL // 4)],
            postcodes=[fake.postcode() for _ in range(POOL // 4)],
            mobile=phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE),
        )
    return pools


def _random_mobile(example: phonenumbers.PhoneNumber, rng: random.Random) -> str:
    """A plausible mobile number: the country's example mobile with its last five digits varied."""
    national = str(example.national_number)
    varied = national[:-5] + f"{rng.randrange(100000):05d}"
    return f"+{example.country_code}{varied}"


def _public_ipv4_pool(rng: random.Random, size: int) -> list[str]:
    pool = []
    while len(pool) < size:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if address.is_global and not address.is_multicast:
            pool.append(str(address))
    return pool


def synthetic_clients_create(*, count: int, batch_size: int = 5000, progress: Callable[[int], None] = lambda n: None,
                             on_batch: Callable[[list[Client]], None] = lambda clients: None, seed: int | None = None) -> int:
    """Add exactly `count` synthetic clients, each with email, phone, a shipping address and an IP observation.

    `on_batch` runs inside each batch's transaction, so the apps above can add their rows for the new clients.
    """
    rng = random.Random(seed)  # nosec B311  # reproducible synthetic demo data, not a secret
    pools = _country_pools(rng.randrange(1 << 30))
    ips = _public_ipv4_pool(rng, POOL * 4)
    countries = list(LOCALES)
    now = timezone.now()
    made = 0
    while made < count:
        size = min(batch_size, count - made)
        with transaction.atomic():
            clients = _synthetic_batch(rng=rng, pools=pools, ips=ips, countries=countries, size=size, now=now)
            on_batch(clients)
        made += size
        progress(size)
    return made


CLIENT_FIELDS = ["id", "public_id", "full_name", "email", "phone", "country", "region", "jurisdiction",
                 "preferred_language", "created_at", "updated_at"]
ADDRESS_FIELDS = ["id", "client", "kind", "country", "line1", "line2", "city", "region", "postcode", "created_at", "updated_at"]
IP_FIELDS = ["id", "client", "ip_address", "first_seen", "last_seen", "last_context"]


def _synthetic_batch(*, rng, pools, ips, countries, size, now) -> list[Client]:
    client_ids = ids_reserve(Client, size)
    clients, client_rows, address_rows, ip_rows = [], [], [], []
    for client_id, address_id, ip_id in zip(client_ids, ids_reserve(Address, size), ids_reserve(IPObservation, size),
                                             strict=True):
        country = rng.choice(countries)
        pool = pools[country]
        first, last = rng.choice(pool.first), rng.choice(pool.last)
        public_id = uuid.uuid4()
        region = rng.choice(US_REGIONS) if country == "US" else ""
        local = slugify(f"{first} {last}").replace("-", ".") or "client"
        client = Client(id=client_id, public_id=public_id, full_name=f"{last}{first}" if country == "CN" else f"{first} {last}",
                        email=f"{local}.{public_id.hex[:10]}@example.com", phone=_random_mobile(pool.mobile, rng),
                        country=country, region=region, jurisdiction=jurisdiction_for(country=country, region=region),
                        preferred_language=Language.ZH_HANS if country == "CN" else Language.EN)
        clients.append(client)
        client_rows.append((client_id, public_id, client.full_name, client.email, client.phone, country, region,
                            client.jurisdiction, client.preferred_language, now, now))
        address_rows.append((address_id, client_id, rng.choice(Address.Kind.values), country, rng.choice(pool.streets), "",
                             rng.choice(pool.cities), "", rng.choice(pool.postcodes), now, now))
        ip_rows.append((ip_id, client_id, rng.choice(ips), now, now, IPObservation.Context.IMPORT))
    rows_insert(Client, CLIENT_FIELDS, client_rows)
    rows_insert(Address, ADDRESS_FIELDS, address_rows)
    rows_insert(IPObservation, IP_FIELDS, ip_rows)
    return clients
