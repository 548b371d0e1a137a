"""Zoho data centres: the accounts, CRM API and Calendar hosts of each (zoho-api.md 1.1).

Each tenant lives in one data centre. Token calls go to the callback's ``accounts-server``,
CRM calls to the token's ``api_domain`` and Calendar calls to ``calendar.zoho.<tld>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "DATA_CENTERS",
    "DataCenter",
    "accounts_server_allowed",
    "by_accounts_server",
    "by_code",
    "is_known_accounts_server",
]


@dataclass(frozen=True, slots=True)
class DataCenter:
    """One Zoho data centre and its hosts (``code`` is the callback's ``location``)."""

    code: str
    name: str
    accounts_url: str
    api_domain: str
    calendar_url: str | None


#: The host table. Calendar hosts for CA, SA and UK are unverified; AE has none known.
DATA_CENTERS: tuple[DataCenter, ...] = (
    DataCenter(
        "us",
        "United States",
        "https://accounts.zoho.com",
        "https://www.zohoapis.com",
        "https://calendar.zoho.com",
    ),
    DataCenter(
        "eu",
        "Europe",
        "https://accounts.zoho.eu",
        "https://www.zohoapis.eu",
        "https://calendar.zoho.eu",
    ),
    DataCenter(
        "in",
        "India",
        "https://accounts.zoho.in",
        "https://www.zohoapis.in",
        "https://calendar.zoho.in",
    ),
    DataCenter(
        "au",
        "Australia",
        "https://accounts.zoho.com.au",
        "https://www.zohoapis.com.au",
        "https://calendar.zoho.com.au",
    ),
    DataCenter(
        "jp",
        "Japan",
        "https://accounts.zoho.jp",
        "https://www.zohoapis.jp",
        "https://calendar.zoho.jp",
    ),
    DataCenter(
        "ca",
        "Canada",
        "https://accounts.zohocloud.ca",
        "https://www.zohoapis.ca",
        "https://calendar.zohocloud.ca",
    ),
    DataCenter(
        "sa",
        "Saudi Arabia",
        "https://accounts.zoho.sa",
        "https://www.zohoapis.sa",
        "https://calendar.zoho.sa",
    ),
    DataCenter(
        "uk",
        "United Kingdom",
        "https://accounts.zoho.uk",
        "https://www.zohoapis.uk",
        "https://calendar.zoho.uk",
    ),
    DataCenter(
        "ae",
        "United Arab Emirates",
        "https://accounts.zoho.ae",
        "https://www.zohoapis.ae",
        None,
    ),
    DataCenter(
        "cn",
        "China",
        "https://accounts.zoho.com.cn",
        "https://www.zohoapis.com.cn",
        "https://calendar.zoho.com.cn",
    ),
)

_BY_CODE = {dc.code: dc for dc in DATA_CENTERS}
_BY_ACCOUNTS_HOST = {urlsplit(dc.accounts_url).hostname: dc for dc in DATA_CENTERS}
# Zoho's own SDK and older docs name the US data centre "com"; accept the domain suffixes too.
_ALIASES = {"com": "us", "com.au": "au", "com.cn": "cn", "zohocloud.ca": "ca"}


def by_code(code: str) -> DataCenter:
    """The data centre for a ``location`` code (``us``, ``eu``, ...); ``KeyError`` if unknown."""
    key = code.strip().lower()
    return _BY_CODE[_ALIASES.get(key, key)]


def _host(url: str) -> str | None:
    # Accept a bare host as well as a URL: callbacks and settings carry either.
    return urlsplit(url if "//" in url else f"https://{url}").hostname


def by_accounts_server(url: str) -> DataCenter | None:
    """The data centre whose accounts server is ``url`` (a URL or a bare host), or ``None``."""
    return _BY_ACCOUNTS_HOST.get(_host(url))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url if "//" in url else f"https://{url}")
    return parts.scheme, (parts.hostname or ""), parts.port


def accounts_server_allowed(candidate: str, override: str | None) -> bool:
    """The one rule for an ``accounts-server`` a callback names: Zoho's own accounts servers
    (HTTPS, known hosts, no port), or exactly the configured override's origin.

    The token service's code exchange checks it before any secret is sent; the connect
    callback goes through that exchange, so the rule is enforced in one place.
    """
    if override and _origin(candidate) == _origin(override):
        return True
    return is_known_accounts_server(candidate)


def is_known_accounts_server(url: str) -> bool:
    """Whether ``url`` is one of Zoho's accounts servers over HTTPS.

    The connect flow uses this to refuse an ``accounts-server`` callback parameter that would
    send the client secret to a host that is not Zoho's.
    """
    parts = urlsplit(url if "//" in url else f"https://{url}")
    return parts.scheme == "https" and parts.hostname in _BY_ACCOUNTS_HOST and parts.port is None
