"""Helpers shared by the tests (imported as `from tests.support.x import ...`); no tests here."""
