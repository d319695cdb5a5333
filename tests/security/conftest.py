from tests.disclosures.conftest import legal, legal2  # noqa: F401  (two members of Legal, for four eyes)
