# The permission matrix's small world (one of everything, two clients, three staff roles, two affiliates) is also
# walked by the no-store and the URL fuzzing tests, so that a new URL is covered by them as soon as it has a row.
from tests.project.test_permission_matrix import world  # noqa: F401
