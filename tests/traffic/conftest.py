"""A real Zoho root and its clients over the emulator (see tests/http/support.py)."""

from tests.http.support import *  # noqa: F403 (its __all__: the fixtures)
