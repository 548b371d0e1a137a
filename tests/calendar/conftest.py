"""A real Zoho root and its clients over the emulator (see tests/http/support.py)."""

from tests.http.support import calendar, crm, served, token_service, zoho, zoho_http

__all__ = ["calendar", "crm", "served", "token_service", "zoho", "zoho_http"]
