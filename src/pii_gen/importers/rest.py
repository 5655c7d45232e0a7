"""JSON samples fetched from a REST API (``pii_gen import --url URL --header 'Authorization: Bearer ...'``).

GET only, following pages until there are no more or ``max_pages`` were read.  The next page is, in order:

1. a link in the body: ``next``, ``links.next`` or ``paging.next`` (a URL, or an object with ``href``),
   relative links resolved against the page's URL;
2. the ``Link: <...>; rel="next"`` response header;
3. when the URL itself carries ``page=N``: page N+1; when it carries ``offset=N``: offset N plus the records
   just read; until a page comes back empty.

Headers (a token) go only to the first URL's scheme, host and port: a next link elsewhere ends the paging.
A token in a header or the URL is never printed or put in an error (:mod:`pii_gen.redact`).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from ..errors import ConfigError
from ..redact import redact, secrets_of
from .samples import records_of

#: Pages read at most unless ``--max-pages`` says otherwise.
MAX_PAGES = 10
TIMEOUT = 30.0
_LINK = re.compile(r'<([^>]*)>\s*;[^,]*?rel="?next"?', re.I)


def parse_headers(lines: list[str]) -> dict[str, str]:
    """``Name: value`` lines as a dict (a line without a colon is an error that does not show its value)."""
    out = {}
    for i, line in enumerate(lines):
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or re.search(r"\s", name.strip()):
            raise ConfigError(f"--header #{i + 1} must look like 'Name: value'")
        out[name.strip()] = value.strip()
    return out


def header_secrets(headers: dict[str, str]) -> tuple[str, ...]:
    """Every header value, and each word of it (the token of ``Bearer TOKEN``), to be removed from any text."""
    found = []
    for value in headers.values():
        found.append(value)
        found.extend(value.split())
    return tuple(found)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower().rpartition("@")[2]


def _body_next(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    for holder, key in ((doc, "next"), (doc.get("links"), "next"), (doc.get("paging"), "next")):
        if isinstance(holder, dict):
            value = holder.get(key)
            if isinstance(value, dict):
                value = value.get("href")
            if isinstance(value, str) and value:
                return value
    return None


def _with_param(url: str, name: str, value: int) -> str:
    parts = urlsplit(url)
    query = [(k, str(value) if k == name else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _param(url: str, name: str) -> int | None:
    for k, v in parse_qsl(urlsplit(url).query):
        if k == name and v.isdigit():
            return int(v)
    return None


def fetch_records(url: str, headers: dict[str, str] | None = None,
                  max_pages: int = MAX_PAGES) -> tuple[list[dict[str, Any]], int]:
    """The records of up to ``max_pages`` pages of ``url`` (GET), and the pages read."""
    headers = dict(headers or {})
    secrets = (*secrets_of(url), *header_secrets(headers))

    def safe(text: str) -> str:
        return " ".join(redact(text, *secrets).split())

    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ConfigError(f"--url must be an http(s) URL, not '{safe(url)}'")
    origin = _origin(url)
    records: list[dict[str, Any]] = []
    pages = 0
    page, offset = _param(url, "page"), _param(url, "offset")
    current: str | None = url
    while current is not None and pages < max_pages:
        request = urllib.request.Request(current, headers={"Accept": "application/json", **headers}, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (http(s) checked)
                body = response.read()
                link = response.headers.get("Link", "")
        except urllib.error.HTTPError as err:
            hint = " (check --header)" if err.code in (401, 403) else ""
            raise ConfigError(f"HTTP {err.code} {safe(str(err.reason))} from GET {safe(current)}{hint}") from None
        except (urllib.error.URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            raise ConfigError(f"cannot GET {safe(current)} ({safe(str(reason))})") from None
        pages += 1
        try:
            doc = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ConfigError(f"the response to GET {safe(current)} is not JSON") from None
        got = records_of(doc, f"the response to GET {safe(current)}")
        records.extend(got)
        nxt = _body_next(doc)
        if nxt is None and (found := _LINK.search(link)):
            nxt = found.group(1)
        if nxt is None and got and page is not None:
            page += 1
            nxt = _with_param(url, "page", page)
        elif nxt is None and got and offset is not None:
            offset += len(got)
            nxt = _with_param(url, "offset", offset)
        nxt = urljoin(current, nxt) if nxt else None
        if nxt is not None and _origin(nxt) != origin:
            nxt = None  # the headers go to the first URL's host only
        current = nxt
    return records, pages
