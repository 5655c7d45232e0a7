"""The one redaction of credentials, for every URL and connection string pii_gen prints or raises.

Whatever the scheme (postgresql, mysql/mariadb, mssql+pyodbc, ``?odbc_connect=``, sqlite, duckdb, http(s),
redis(s), nats, tls, file), a password never reaches a message: ``user:password@``, ``:password@``, a lone
token before ``@`` (kept only where it is a database user name), ``password=`` / ``pwd=`` / ``token=`` query
parameters and ODBC ``PWD=`` / ``Password=`` settings (also percent-encoded inside ``odbc_connect``), and
the known secrets themselves wherever they occur (a driver may echo them in its error text).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "***"
URL_HINT = " (percent-encode any / ? # or @ in a user name or password)"
MIN_LITERAL = 4  # secrets at least this long are also removed wherever they occur in a text

#: Query parameters and connection-string settings whose value is a secret.
SECRET_KEYS = ("password", "passwd", "pwd", "token", "access_token", "auth_token", "api_key", "apikey", "secret")

#: Schemes whose lone ``name@`` is a database user name, not a secret (``postgresql://postgres@host``).
USER_SCHEMES = ("postgresql", "postgres", "mysql", "mariadb", "mssql", "sqlite", "duckdb")

_KEYS = "|".join(SECRET_KEYS)
# key=value with "=" plain or percent-encoded (inside odbc_connect=...); an ODBC {braced} value may hold ";".
_SETTING = re.compile(
    rf"(?i)(?:(?<![A-Za-z0-9_])|(?<=%3B)|(?<=%26))({_KEYS})(\s*=\s*|%3D)"
    rf"""(\{{[^}}]*\}}?|%7B.*?%7D|'[^']*'|"[^"]*"|(?:(?!%3B|%26)[^;&\s"'])*)"""
)
# scheme://userinfo@host: userinfo runs to the last "@" before the host (a raw "@" in a password included).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*)://([^\s/?#]*)@(?=[^\s@]*(?:[/?#\s\"']|$))")
# user:password@host where the password holds a raw "/", "?" or "#" (a URL parser ends the host there).
_LOOSE = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*)://([^\s/?#@:]*):([^\s@]*)@(?=[^\s@/?#]*(?:[/?#\s\"']|$))")


def _userinfo(match: re.Match[str]) -> str:
    scheme, info = match.group(1), match.group(2)
    if info == MASK or info.endswith(":" + MASK):
        return match.group(0)
    user, colon, _ = info.partition(":")
    if colon:
        return f"{scheme}://{user}:{MASK}@"
    if scheme.lower().split("+")[0] in USER_SCHEMES:
        return match.group(0)
    return f"{scheme}://{MASK}@"  # nats://TOKEN@host, https://TOKEN@host


def redact(text: str, *secrets: str) -> str:
    """``text`` with every credential form replaced by ``***``, and every given secret wherever it occurs."""
    text = _SETTING.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _USERINFO.sub(_userinfo, text)
    text = _LOOSE.sub(lambda m: m.group(0) if m.group(3) == MASK else f"{m.group(1)}://{m.group(2)}:{MASK}@", text)
    # Shorter literals would mask ordinary letters all over the message, and no driver echoes them.
    for secret in sorted({s for s in secrets if len(s) >= MIN_LITERAL and s != MASK}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote(secret, safe="!$'()*+,;:")}:
            text = text.replace(form, MASK)
    return text


def scrub(text: str, *secrets: str) -> str:
    """``text`` (a driver's or client library's error, say) on one line, redacted as :func:`redact` does."""
    return " ".join(redact(text, *secrets).split())


def secrets_of(url: str) -> tuple[str, ...]:
    """The secrets a URL or connection string carries (password or token, secret query parameters and
    ODBC settings), decoded, so they can be removed from any text, a driver's error messages included."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        info = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    except ValueError:
        parts, info = None, ""
    if info:
        user, colon, password = info.partition(":")
        scheme = parts.scheme.lower().split("+")[0] if parts else ""
        if colon:
            found.append(unquote(password))
        elif scheme not in USER_SCHEMES:
            found.append(unquote(user))
    if parts is not None:
        for key, value in parse_qsl(parts.query):
            if key.lower() in SECRET_KEYS:
                found.append(value)
            elif key.lower() == "odbc_connect":
                found.extend(secrets_of(value))
    found.extend(unquote(m.group(3)) for m in _LOOSE.finditer(url))
    for m in re.finditer(rf"(?i)(?<![A-Za-z0-9_])(?:{_KEYS})\s*=\s*(\{{[^}}]*\}}|[^;&\s]*)", unquote(url)):
        found.append(m.group(1).strip("{}'\""))
    return tuple(s for s in dict.fromkeys(found) if s and s != MASK)


def redact_url(url: str) -> str:
    """A URL (or connection string) fit to print: every credential in it masked."""
    return redact(url, *secrets_of(url))
