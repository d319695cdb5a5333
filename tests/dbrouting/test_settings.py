"""Without DATABASE_REPLICA_URL nothing changes; with it (or DATABASE_REPLICA_URL_FILE) the alias, the router and the
pin middleware are there, and the replica's connection is read-only. Run in fresh processes, as settings are."""

import json

from tests.project.test_settings import PRODUCTION, manage

SHOW = ("import json; from django.conf import settings as s; print(json.dumps({'aliases': sorted(s.DATABASES), "
        "'routers': s.DATABASE_ROUTERS, 'pin': 'fulfillmen.db_router.ReplicaPinMiddleware' in s.MIDDLEWARE, "
        "'replica': s.DATABASES.get('replica', {}).get('NAME'), 'options': s.DATABASES.get('replica', {}).get('OPTIONS')}))")


def shown(**env):
    result = manage("shell", "-c", SHOW, **{**PRODUCTION, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_replica_url_there_is_no_replica_alias_router_or_middleware():
    assert shown(DATABASE_REPLICA_URL="") == {"aliases": ["default"], "routers": [], "pin": False, "replica": None,
                                              "options": None}


def test_the_replica_url_can_come_from_a_file_and_its_connection_is_read_only(tmp_path):
    url_file = tmp_path / "replica_url"
    url_file.write_text("postgres://reader@replica.internal:5432/fulfillmen\n")
    settings = shown(DATABASE_REPLICA_URL="", DATABASE_REPLICA_URL_FILE=str(url_file))
    assert settings["aliases"] == ["default", "replica"] and settings["replica"] == "fulfillmen"
    assert settings["routers"] == ["fulfillmen.db_router.ReplicaRouter"] and settings["pin"]
    assert settings["options"] == {"connect_timeout": 2, "options": "-c default_transaction_read_only=on"}


def test_a_pin_shorter_than_the_allowed_lag_is_refused_at_start():
    result = manage("check", **{**PRODUCTION, "DATABASE_REPLICA_URL": "postgres://reader@replica.internal/fulfillmen",
                                "DATABASE_REPLICA_PIN_SECONDS": "3"})
    assert result.returncode != 0 and "could miss their own write" in result.stderr
