"""Zoho data centres: the accounts, CRM API and Calendar hosts of each (zoho-api.md 1.1).

Each tenant lives in one data centre. Token calls go to the callback's ``accounts-server``,
CRM calls to the token's ``api_domain`` and Calendar calls to ``calendar.zoho.<tld>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from .errors import ConfigurationError

__all__ = [
    "DATA_CENTERS",
    "DataCenter",
    "accounts_server_allowed",
    "by_accounts_server",
    "by_api_domain",
    "by_code",
    "calendar_url_for",
    "is_known_accounts_server",
    "trusted_accounts_server",
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
_BY_API_HOST = {urlsplit(dc.api_domain).hostname: dc for dc in DATA_CENTERS}
_BY_ACCOUNTS_HOST = {urlsplit(dc.accounts_url).hostname: dc for dc in DATA_CENTERS}
# Zoho's own SDK and older docs name the US data centre "com"; accept the domain suffixes too.
_ALIASES = {"com": "us", "com.au": "au", "com.cn": "cn", "zohocloud.ca": "ca"}


def by_code(code: str) -> DataCenter:
    """The data centre for a ``location`` code (``us``, ``eu``, ...); ``KeyError`` if unknown."""
    key = code.strip().lower()
    return _BY_CODE[_ALIASES.get(key, key)]


def _split(url: str) -> SplitResult | None:
    """``url`` parsed (a bare host taken as ``https://host``), or ``None`` when it cannot be.

    Python's parser silently drops tabs and newlines and lets odd bytes through, so anything
    but visible ASCII is refused before it is parsed: what is checked is what would be sent.
    """
    if not url or any(not (0x21 <= ord(ch) <= 0x7E) for ch in url):
        return None
    try:
        parts = urlsplit(url if "//" in url else f"https://{url}")
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts


def _host(url: str) -> str | None:
    # Accept a bare host as well as a URL: callbacks and settings carry either.
    parts = _split(url)
    return parts.hostname if parts is not None else None


def by_accounts_server(url: str) -> DataCenter | None:
    """The data centre whose accounts server is ``url`` (a URL or a bare host), or ``None``."""
    return _BY_ACCOUNTS_HOST.get(_host(url))


def _origin(parts: SplitResult) -> tuple[str, str, int | None] | None:
    """Scheme, host and port of a URL that is an origin and nothing more (no user-info, no
    path beyond ``/``, no query or fragment); ``None`` otherwise."""
    if parts.username is not None or "@" in parts.netloc or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.netloc == "":
        return None
    return parts.scheme, parts.hostname, parts.port


def trusted_accounts_server(candidate: str, override: str | None) -> str | None:
    """The one rule for an ``accounts-server`` a callback names, and the URL to call for it.

    Allowed: one of Zoho's accounts servers (``https``, a known host, no port, no user-info, no
    path), answered with that data centre's URL from the table above; or exactly the origin of
    the configured override (``ZOHO_ACCOUNTS_URL``, the emulator), answered with the override.
    Anything else, including a value with control characters, spaces or bytes past ASCII, is
    ``None``. The URL returned is never the caller's string, so nothing a client sent reaches
    the HTTP client unparsed.

    The token service's code exchange checks it before any secret is sent; the connect
    callback goes through that exchange, so the rule is enforced in one place.
    """
    parts = _split(candidate)
    origin = _origin(parts) if parts is not None else None
    if origin is None:
        return None
    if override:
        configured = _split(override)
        if configured is not None and origin == _origin(configured):
            return override.rstrip("/")
    scheme, host, port = origin
    known = _BY_ACCOUNTS_HOST.get(host)
    if scheme != "https" or port is not None or known is None:
        return None
    return known.accounts_url


def accounts_server_allowed(candidate: str, override: str | None) -> bool:
    """Whether :func:`trusted_accounts_server` allows ``candidate``."""
    return trusted_accounts_server(candidate, override) is not None


def is_known_accounts_server(url: str) -> bool:
    """Whether ``url`` is one of Zoho's accounts servers over HTTPS (no port, no path)."""
    return trusted_accounts_server(url, None) is not None


def by_api_domain(api_domain: str) -> DataCenter | None:
    """The data centre whose CRM host is ``api_domain`` (a token's ``api_domain``), or ``None``
    for a host that is not one of Zoho's (the emulator, a proxy)."""
    return _BY_API_HOST.get(_host(api_domain))


def calendar_url_for(api_domain: str) -> str:
    """The Calendar host of the data centre whose CRM host is ``api_domain``.

    ``https://www.zohoapis.eu`` gives ``https://calendar.zoho.eu``. A host that is not one of
    Zoho's (the emulator, a proxy) serves Calendar itself, so it is returned unchanged; a
    data centre with no known Calendar host is a :class:`ConfigurationError` naming the
    setting that gives one.
    """
    dc = by_api_domain(api_domain)
    if dc is None:
        return api_domain.rstrip("/")
    if dc.calendar_url is None:
        raise ConfigurationError(
            f"Zoho Calendar has no known host in the {dc.name} data centre: set ZOHO_CALENDAR_URL",
            variables=("ZOHO_CALENDAR_URL",),
        )
    return dc.calendar_url
