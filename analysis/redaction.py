"""Secret redaction for untrusted text before it reaches a ticket or an LLM.

Pipeline error messages and webhook payloads routinely embed connection strings, SAS URLs,
bearer tokens and the like. ``redact`` masks the secret part only, keeping host names, user
names, database names, error codes and prose intact because the text still feeds the
classifier and the people reading the ticket.

Performance: every quantifier is bounded and most patterns begin with a literal, so ``re`` can
skip ahead with its fast literal search; case-insensitive rules run case-sensitively against an
ASCII-lowercased copy of the text (``re.IGNORECASE`` disables those optimisations and was ~5x
slower). A rule runs only on a text that holds its hints, all of which are found in one pass
(below), and the key/value rule is tried only where a key can start. A 2 MB adversarial
input is processed in about a second.
"""

from __future__ import annotations

import base64
import bisect
import functools
import json
import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ahocorasick

REDACTED = "[REDACTED]"
REDACTED_EMAIL = "[REDACTED_EMAIL]"

# Callbacks get the match (found in the possibly lowercased copy) and the original text, which
# has identical offsets; output is always built from the original.
_Repl = str | Callable[[re.Match[str], str], str]


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    repl: _Repl
    fold: bool = False  # match against the ASCII-lowercased text; pattern must be lowercase
    hints: tuple[str, ...] = ()  # substrings that must all be present for the rule to apply
    any_hints: tuple[str, ...] = ()  # substrings of which one must be present
    rescan: bool = False  # a match the callback keeps is searched again from its next character
    # The positions of the subject, in order, where a match may start: only those are tried
    # (a pattern beginning with an alternation of words is tried at every position otherwise).
    starts: Callable[[str], list[int]] | None = None


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _fold(text: str) -> str:
    # str.lower() is length-preserving for ASCII only ("İ".lower() has two code points).
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _group(m: re.Match[str], text: str, name: str) -> str:
    start, end = m.span(name)
    return text[start:end] if start >= 0 else ""


# --- PEM private keys ---------------------------------------------------------------------------
_PEM_BEGIN = re.compile(
    r"-----BEGIN (?P<kind>(?:[A-Z0-9]{1,20} ){0,4})PRIVATE KEY(?P<blk> BLOCK)?-----"
)
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----")
# Body of a block truncated before its END line (messages are often cut at a length limit):
# whole lines of base64, separated by real or JSON-escaped newlines.
_PEM_BODY = re.compile(
    r"(?:(?:\r?\n|(?:\\r)?\\n)[A-Za-z0-9+/=]{1,100}(?=\r?\n|(?:\\r)?\\n|[\"']|$)){0,5000}"
)
_PEM_MAX_BODY = 100_000


def _redact_pem(text: str) -> str:
    """Done procedurally rather than with a lazy ``BEGIN.*?END`` regex, which is quadratic
    when there are many BEGIN markers and no END."""
    if "PRIVATE KEY" not in text:
        return text
    ends = [(m.start(), m.end()) for m in _PEM_END.finditer(text)]
    starts = [s for s, _ in ends]
    out: list[str] = []
    last = 0
    for m in _PEM_BEGIN.finditer(text):
        if m.start() < last:
            continue
        i = bisect.bisect_left(starts, m.end())
        if i < len(ends) and ends[i][0] - m.end() <= _PEM_MAX_BODY:
            block_end = ends[i][1]
        else:
            block_end = _PEM_BODY.match(text, m.end()).end()  # type: ignore[union-attr]
        label = f"{m['kind']}PRIVATE KEY{m['blk'] or ''}"
        out += [text[last : m.start()], f"-----BEGIN {label}-----{REDACTED}-----END {label}-----"]
        last = block_end
    return "".join([*out, text[last:]]) if out else text


# --- URL userinfo: scheme://user:password@host ---------------------------------------------------
# The password is greedy and backtracks to the last '@' of the authority, so an unencoded '@'
# inside it is still fully covered. Anchoring on "://" (not the scheme) keeps it a literal scan.
# A port followed by a semicolon and a property is SQL Server's JDBC URL going on with its
# properties (jdbc:sqlserver://host:1433;user=etl@srv;…), no password; a password may itself
# begin with digits and a semicolon ("etl:8812;Xy@db"), so the property's name= is required.
_URL_USERINFO = re.compile(
    r"(?P<pre>://[^\s:/?#@'\"<>]{0,256}:)(?!\d{1,5};[A-Za-z][\w.]{0,64}=)[^\s/?#'\"<>]{1,256}@"
)
# jdbc:oracle:thin:user/password@host:1521/service
_ORACLE_THIN = re.compile(r"(?P<pre>jdbc:oracle:thin:[^\s/@:'\"]{1,128}/)[^\s@'\"]{1,256}@")

# --- Authorization headers (folded: patterns are lowercase) --------------------------------------
_AUTH_HEADER = re.compile(
    r"(?P<pre>authorization(?<![a-z0-9]authorization)\\?[\"']?[ \t]{0,10}[:=][ \t]{0,10}"
    r"\\?[\"']?(?:(?P<scheme>bearer|basic|token|digest|sharedkeylite|sharedkey"
    r"|sharedaccesssignature|negotiate|ntlm|aws4-hmac-sha256|oauth)[ \t]{1,10})?)"
    r"(?P<val>[^\s'\",\\]{1,8192})"
    r"(?:[ \t]{1,10}(?!authorization)(?P<val2>[^\s'\",\\]{1,8192}))?"
)
# A scheme of a vendor's own before the credential ("Splunk <token>", "GenieKey <key>", Okta's
# "SSWS <token>", "ApiKey <key>"): a word; the credential after it must look random.
_AUTH_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{1,30}")
# The parameters of a WWW-Authenticate challenge (RFC 9110, RFC 6750), which a client library
# prints after "Authorization:" too ('Authorization: Basic realm="Staging"'): what the server
# asks for, no credential (folded).
_CHALLENGE_PARAMETER = re.compile(
    r"(?:realm|charset|error|error_description|error_uri|scope|authorization_uri"
    r"|resource_id|trusted_issuers)="
)
# Words a log writes after "Authorization:" as its outcome, not a scheme: what follows them is a
# correlation id or an error code.
_AUTH_OUTCOMES = frozenset(
    {"denied", "deny", "failed", "failure", "error", "required", "invalid", "expired"}
    | {"missing", "rejected", "forbidden", "unauthorized", "refused", "granted", "succeeded"}
    | {"success", "ok", "pending", "none", "null"}
    # RFC 6750's error codes, as a client prints the challenge's error after the scheme
    | {"invalid_token", "invalid_request", "insufficient_scope"}
)
# HTTP Digest's response="<hex>" (folded): a hash of the password with the server's nonce, which
# can be replayed or brute-forced; the other parameters (username, realm, nonce, uri) stay.
_DIGEST_RESPONSE = re.compile(
    r"(?P<pre>(?<![\w-])response[ \t]{0,10}=[ \t]{0,10}(?P<q>\\{0,15}\"?))"
    r"[0-9a-f]{32,128}(?=(?P=q)(?![0-9a-f]))"
)
_BEARER = re.compile(
    r"(?P<pre>(?:bearer(?<![a-z0-9_]bearer)|basic(?<![a-z0-9_]basic))[ \t]{1,10})"
    r"(?P<val>[a-z0-9\-._~+/]{8,8192}={0,2})(?![\w=])"
)

# --- Well-known token formats, matched anywhere ---------------------------------------------------
# Each starts with a literal; the word-boundary check is a lookbehind placed after it. Beside
# each, its hints: literals of which one must be in the text.
_TOKEN_FORMATS: list[tuple[tuple[str, ...], str]] = [
    # JWT: base64url('{"...') . base64url('{"...') . signature
    (("eyJ",), r"eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{5,8192}\.eyJ[A-Za-z0-9_-]{5,16384}\.[\w-]{0,8192}"),
    # AWS access key ids (long-term AKIA, temporary ASIA, other IAM unique-id prefixes)
    (
        ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"),
        r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)(?<!\w.{4})[A-Z0-9]{16}\b",
    ),
    # Google API key
    (("AIza",), r"AIza(?<![\w-]AIza)[0-9A-Za-z_-]{35}(?![\w-])"),
    # GitHub tokens
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"gh[pousr]_(?<!\w.{4})[A-Za-z0-9]{36,255}\b"),
    (("github_pat_",), r"github_pat_(?<!\wgithub_pat_)[A-Za-z0-9_]{22,255}\b"),
    # Slack tokens
    (("xox",), r"xox[abposre]-(?<!\w.{5})[A-Za-z0-9-]{10,255}"),
    (("xapp-",), r"xapp-(?<!\wxapp-)\d-[A-Za-z0-9-]{10,255}"),
    # Databricks personal access token
    (("dapi",), r"dapi(?<!\wdapi)[0-9a-f]{32}(?:-\d{1,2})?\b"),
    # Databricks OAuth: a service principal's client secret, a refresh token
    (("dose",), r"dose(?<!\wdose)[0-9a-f]{32}\b"),
    (("doau",), r"doau(?<!\wdoau)[0-9a-f]{32}\b"),
    # Azure AD client secret (current format: 3 chars, digit, "Q~", 31-34 chars)
    (("Q~",), r"(?<![\w~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![\w~.-])"),
    # GitLab personal, project/group, deploy, runner and pipeline trigger tokens (the newer
    # ones carry ".01.<suffix>")
    (
        ("glpat-", "gldt-", "glrt-", "glptt-"),
        r"gl(?:pat-(?<!\wglpat-)|dt-(?<!\wgldt-)|rt-(?<!\wglrt-)|ptt-(?<!\wglptt-))"
        r"[A-Za-z0-9_-]{20,255}(?:\.[A-Za-z0-9_.-]{2,64})?"
        r"(?![\w.-])",
    ),
    # OpenAI project, service account and admin keys, Anthropic keys, OpenAI's older keys (their
    # "T3BlbkFJ" is base64 of "OpenAI"). "sk-" alone is in too many words ("task-", "disk-").
    (
        ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-ant-", "T3BlbkFJ"),
        r"sk-(?<![\w-]sk-)(?:(?:proj|svcacct|admin|ant-api\d\d|ant-admin\d\d)-[A-Za-z0-9_-]{20,255}"
        r"|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?![\w-])",
    ),
    # npm access token. Its hint, and whsec_'s, leave out the first letter: no other hint starts
    # with "n" or "w", and one that did would cost the hint finder a step at every "n" or "w" of
    # every text (about 3 % of a message's redaction for these two, measured).
    (("pm_",), r"npm_(?<!\wnpm_)[A-Za-z0-9]{36}\b"),
    # SendGrid API key: SG.<22>.<43>
    (("SG.",), r"SG\.(?<![\w.]SG\.)[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![\w-])"),
    # Stripe secret and restricted keys (live and test), webhook signing secret
    (
        ("sk_live_", "rk_live_", "sk_test_", "rk_test_"),
        r"[rs]k_(?<!\w.{3})(?:live|test)_[A-Za-z0-9]{20,255}\b",
    ),
    (("hsec_",), r"whsec_(?<!\wwhsec_)[A-Za-z0-9+/=]{24,255}(?![\w+/=])"),
    # HashiCorp Vault service, batch and recovery tokens
    (("hvs.", "hvb.", "hvr."), r"hv[sbr]\.(?<![\w.]hv.\.)[A-Za-z0-9_-]{24,1024}(?![\w-])"),
    # Grafana service account token, Grafana Cloud access policy token
    (("glsa_",), r"glsa_(?<!\wglsa_)[A-Za-z0-9]{32}_[0-9a-f]{8}\b"),
    (("glc_",), r"glc_(?<!\wglc_)[A-Za-z0-9+/]{32,1024}={0,2}(?![\w+/=])"),
    # Atlassian (Jira, Confluence) API token
    (("ATATT",), r"ATATT(?<!\wATATT)[A-Za-z0-9_=-]{40,1024}(?![\w=-])"),
    # Telegram bot token (Airflow's TelegramOperator and notifier; in the Bot API's URL as
    # `/bot<token>/sendMessage`): the bot's id, a colon, "AA" and 32 or 33 more
    ((":AA",), r"(?:(?<=/bot)|(?<![\w:]))\d{6,12}:AA[A-Za-z0-9_-]{32,33}(?![\w-])"),
]

# --- key=value / key: value pairs (folded) ----------------------------------------------------
# Long key words may carry any prefix (db_password, clientsecret, aws_secret_access_key); the
# short ones must start an identifier, which _kv checks (a lookbehind here would cost the
# literal-prefix scan).
_SHORT_KEYS = frozenset({"sig", "pwd", "pass", "sas"})
_KV_KEY_QUALIFIERS = (
    r"(?:api|access|account|secret|private|master|subscription|storage|sas|signing|client"
    r"|encryption|functions?|principal|fernet)"
)
_KEY_CORE = (
    r"(?:password|passwd|passphrase|pass|pwd|secret|token|signature|sig|sas|apikey"
    r"|" + _KV_KEY_QUALIFIERS + r"[_-]?key)"
    # Airflow's Snowflake connection: private_key_content, the key file's content in base64
    r"(?:_content)?(?![a-z0-9])"
)
_KV_VALUE = (
    # \"value\" (JSON inside a JSON string), \\\"value\\\" (inside that one, and deeper): the
    # closing quote has as many backslashes before it as the opening one, no more.
    r"(?P<kq>\\{1,15}\")(?:[^\"\n]|(?<=\\)\"){0,1000}?(?<!\\)(?P=kq)"
    r"|\"(?:[^\"\\\n]|\\.){0,1000}\""  # "value"
    r"|'[^'\n]{0,1000}'"  # 'value'
    r"|\{[^}\n]{0,1000}\}"  # ODBC {value}
    r"|n'[^'\n]{0,1000}'"  # T-SQL's N'value'
    r"|[\"']?(?:[^\s;&,'\"\\]|\\(?![nrt\"'\\])){1,4096}"  # bare: stops at ws ; & , quote
)
_KV = re.compile(
    r"(?P<key>" + _KEY_CORE + r")(?P<mid>\\{0,15}[\"']?[ \t]{0,10}(?:=>|:=|=|:(?!:))[ \t]{0,10})"
    r"(?P<val>" + _KV_VALUE + r")"
)
# A password's name in other languages, as a text writes it before its value ("Passwort=…",
# "пароль: …", "密码=…"); found case-folded for ASCII letters only, so other scripts' capitals
# are listed. Read by _kv as _KV's keys are.
_FOREIGN_KV_KEY_WORDS = (
    "passwort",
    "kennwort",
    "wachtwoord",
    "senha",
    "contraseña",
    "contrasena",
    "mot_de_passe",
    "mot de passe",
    "motdepasse",
    "пароль",
    "Пароль",
    "ПАРОЛЬ",
    "hasło",
    "lösenord",
    "passord",
    "salasana",
    "密码",
    "密碼",
    "パスワード",
    "비밀번호",
)
_FOREIGN_KV = re.compile(
    r"(?P<key>" + "|".join(re.escape(word) for word in _FOREIGN_KV_KEY_WORDS) + r")"
    r"(?P<mid>\\{0,15}[\"']?[ \t]{0,10}(?:=>|:=|=|:(?!:)|\uff1a)[ \t]{0,10})"
    r"(?P<val>" + _KV_VALUE + r")"
)


def _foreign_kv_starts(subject: str) -> list[int]:
    return sorted(_occurrences(subject, _FOREIGN_KV_KEY_WORDS))


# A key of _KV starts with one of these words, or is a qualifier (at most 13 characters with its
# separator) before "key".
_KV_KEY_WORDS = ("pass", "pwd", "secret", "token", "sig", "sas")
_KEY_QUALIFIER_BEFORE = re.compile(_KV_KEY_QUALIFIERS + r"[_-]?$")


def _occurrences(subject: str, words: tuple[str, ...]) -> set[int]:
    found: set[int] = set()
    for word in words:
        i = subject.find(word)
        while i >= 0:
            found.add(i)
            i = subject.find(word, i + 1)
    return found


def _kv_starts(subject: str) -> list[int]:
    found = _occurrences(subject, _KV_KEY_WORDS)
    i = subject.find("key")
    while i >= 0:
        # A qualifier ends where "key" starts (endpos makes "$" match there); none is the end
        # of another, so the leftmost is the only one.
        q = _KEY_QUALIFIER_BEFORE.search(subject, max(0, i - 13), i)
        if q is not None:
            found.add(q.start())
        i = subject.find("key", i + 1)
    return sorted(found)


# SharedAccessSignature=sv=...&sig=...; the value itself contains '=' and '&'.
_SAS_CONN = re.compile(
    r"(?P<pre>sharedaccesssignature(?<![a-z0-9]sharedaccesssignature)[ \t]{0,10}=[ \t]{0,10})"
    r"[^\s;'\"]{1,8192}"
)
# Hadoop's Azure storage credentials as Spark is given them: spark.conf.set("fs.azure.account.key.
# <account>.dfs.core.windows.net", "<key>"), `--conf <name>=<key>`, a config listing's
# `<name> <key>`. The name goes on past its key word (to the account's host) and the value may
# follow a quote and a comma: _KV sees neither.
_HADOOP_AZURE_CREDENTIAL = re.compile(
    r"(?P<pre>fs\.azure\.(?:account\.key|account\.oauth2\.client\.secret|sas)"
    r"(?:\.[a-z0-9_.-]{1,255}+)?[\"']?(?:[ \t]{0,10}[,=:][ \t]{0,10}|[ \t]{1,10})[\"']?)"
    r"(?P<val>[^\s\"']{1,8192})"
)
# The same for S3A's and the GCS connector's credentials: fs.s3a.secret.key, fs.s3a.session.token
# and fs.s3a.encryption.key (also a bucket's own, fs.s3a.bucket.<bucket>.secret.key), the older
# fs.s3.awsSecretAccessKey, fs.gs.auth.client.secret.
_HADOOP_CLOUD_CREDENTIAL = re.compile(
    r"(?P<pre>fs\.(?:s3a?|s3n|gs)\.(?:[a-z0-9_-]{1,255}\.){0,4}?"
    r"(?:secret\.key|session\.token|(?:server-side-)?encryption\.key|awssecretaccesskey"
    r"|client\.secret|refresh\.token)"
    r"[\"']?(?:[ \t]{0,10}[,=:][ \t]{0,10}|[ \t]{1,10})[\"']?)"
    r"(?P<val>[^\s\"']{1,8192})"
)
# Chat incoming webhooks whose URL is the credential (anyone holding it posts to the channel),
# which an ADF Web activity's or an Airflow notifier's error quotes whole: Microsoft Teams'
# connectors (`<tenant>.webhook.office.com/webhookb2/<group>@<tenant>/IncomingWebhook/<id>/
# <owner>[/<key>]`, the older `outlook.office.com/webhook/…`) and Discord's
# (`discord.com/api/webhooks/<id>/<token>`). The host and the kind stay; the path is masked
# (folded).
_CHAT_WEBHOOK_URL = re.compile(
    r"(?P<pre>https?://(?:(?:[a-z0-9-]{1,63}\.)?webhook\.office\.com/webhookb2/"
    r"|outlook\.office(?:365)?\.com/webhook(?:b2)?/"
    r"|(?:ptb\.|canary\.)?discord(?:app)?\.com/api/(?:v\d{1,2}/)?webhooks/\d{1,30}/))"
    r"[a-z0-9@/._~%-]{10,2048}"
)
# XML holding a secret: an element named for one (`<password>…</password>`,
# `<db:ClientSecret>`), and a Hadoop/Hive configuration property (hive-site.xml,
# core-site.xml: `<name>javax.jdo.option.ConnectionPassword</name><value>…</value>`), as a
# Spark or Hive metastore error prints them. The element's name ends with the secret's word
# (`<passwordPolicy>` is no secret), or is one of the short words alone (`<bypass>` neither:
# _XML_SECRET_TAG, checked on the name matched, so the pattern is one plain scan); a
# property's value is masked when its name ends with one (_XML_PROPERTY_SECRET). Folded.
_XML_SECRET_ELEMENT = re.compile(
    r"<(?P<tag>[a-z0-9_.:-]{1,64}+)(?:[ \t][^<>]{0,256})?>"
    r"(?P<val>[^<]{1,8192})</(?P=tag)[ \t]{0,10}>"
)
_XML_SECRET_TAG = re.compile(
    r"[a-z0-9_.:-]{0,64}?(?:password|passwd|passphrase|secret|token|apikey"
    r"|(?:api|access|account|secret|private|client|subscription|encryption|master|shared)"
    r"[_.-]?key)|pass|pwd|sas|sig"
)
_XML_PROPERTY = re.compile(
    r"<name>[ \t]{0,10}(?P<key>[^<\s]{1,255})[ \t]{0,10}</name>\s{0,200}"
    r"(?:<description>[^<]{0,2000}</description>\s{0,200})?"
    r"<value>(?P<val>[^<]{1,8192})</value>"
)
_XML_PROPERTY_SECRET = re.compile(
    r"(?:password|passwd|passphrase|secret|token|credentials?|(?:^|[._-])sas"
    r"|(?:^|[._-])(?:api|access|account|private|client|encryption|master|shared|sas|secret)"
    r"[._-]?key)"
    # The word ends the name (`dfs.block.access.token.enable` holds `true`, a `*.token.
    # renew-interval` a number, `hadoop.security.credential.provider.path` a path), or is
    # followed by the storage account it is for: `fs.azure.account.key.<account>.dfs.core.
    # windows.net`, `fs.azure.sas.<container>.<account>.blob.core.windows.net`.
    r"(?:(?:\.[a-z0-9-]{1,63}){1,2}\.(?:dfs|blob)\.core\.[a-z.]{1,40})?$"
)
# What Hadoop says after such a name that is no credential: the exception the setting raised
# (`org.apache.hadoop.fs.azure.KeyProviderException:`), or the class a setting names
# (`fs.azure.sas.token.provider.type com.contoso.SasProvider`).
_JAVA_CLASS = re.compile(
    r"(?:(?:[a-z_][a-z0-9_]*\.)+[A-Z][A-Za-z0-9_$]*|[A-Z][A-Za-z0-9]*(?:Exception|Error)):?"
)
# A Cookie or Set-Cookie header as a client library prints it ("Cookie: JSESSIONID=…; lang=en",
# "'Set-Cookie': 'sid=…; Path=/; HttpOnly'"): name=value pairs, whose values _cookie masks. A
# first pair is required, so "cookie: not set" and other prose stay. A response's Set-Cookie
# headers printed as one (requests' `response.headers`) are joined by ", ": a comma followed by
# a name and "=" starts the next cookie, and an Expires date, with its comma and spaces, is one
# value ("Expires=Tue, 16 Dec 2025 10:00:00 GMT"; the pattern is matched lower-cased).
_COOKIE_PAIR = r"[^\s=;,\"'\\]{1,256}"
_COOKIE_NEXT = r",(?=[ \t]{0,10}" + _COOKIE_PAIR + r"=)"
_COOKIE_VALUE = (
    r"(?:[a-z]{3,9},[ \t]{0,2}\d{1,2}[ -][a-z]{3}[ -]\d{2,4}[ \t]\d{1,2}:\d\d:\d\d(?:[ \t]gmt)?"
    r"|(?:[^\s;,\"'\\]|(?!" + _COOKIE_NEXT + r"),){0,4096})"
)
# After a pair: an attribute or cookie after a semicolon, or the next cookie after a comma.
_COOKIE_AFTER_SEMICOLON = r";[ \t]{0,10}" + _COOKIE_PAIR + "(?:=" + _COOKIE_VALUE + ")?"
_COOKIE_AFTER_COMMA = _COOKIE_NEXT + r"[ \t]{0,10}" + _COOKIE_PAIR + "=" + _COOKIE_VALUE
_COOKIE_HEADER = re.compile(
    # A letter before "cookie" makes it part of a word, unless it is the n of an escaped newline.
    # Its value follows a colon, or, printed as a quoted (name, value) pair, a comma.
    r"(?P<pre>cookie(?<![a-mo-z0-9_]cookie)(?<![^\\]ncookie)"
    r"(?:\\?[\"']?[ \t]{0,10}:|\\?[\"'][ \t]{0,10},)[ \t]{0,10}\\?[\"']?)"
    f"(?P<val>{_COOKIE_PAIR}={_COOKIE_VALUE}"
    f"(?:{_COOKIE_AFTER_SEMICOLON}|{_COOKIE_AFTER_COMMA}){{0,100}})"
)
# Within a matched header (its original case): each name and its value, up to a comma that
# starts the next cookie.
_COOKIE_PAIRS = re.compile(
    r"(?P<name>" + _COOKIE_PAIR + r")(?:=(?P<value>(?:[^\s;,\"'\\]|(?!" + _COOKIE_NEXT + r"),)*))?"
)
# Set-Cookie attributes: what the server says about the cookie, not its value.
_COOKIE_ATTRIBUTES = frozenset(
    {"path", "domain", "expires", "max-age", "secure", "httponly", "samesite", "version"}
    | {"comment", "priority", "partitioned"}
)
# An AWS access key id and, within the same line, a 40-character secret key printed beside it
# with no label ("boto3.client('s3', 'AKIA…', 'wJalr…')"); _aws_key_pair keeps a git hash (one
# case) and a date-partitioned path that happens to be 40 characters long (_PATH_DIGITS).
_AWS_KEY_PAIR = re.compile(
    r"(?P<pre>A(?:KIA|SIA)(?<!\w.{4})[A-Z0-9]{16}\b[^\n]{1,100}?)"
    r"(?<![A-Za-z0-9/+=])(?P<val>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)
# An Azure Functions key in a URL's query (https://app.azurewebsites.net/api/f?code=...), or an
# OAuth authorization code: only as a query parameter, so "exit code=1" in prose stays.
_QUERY_CODE = re.compile(r"(?P<pre>(?:[?&]|&amp;)code=)(?P<val>[^\s&#'\"<>]{1,4096})")
# Command-line flags: --password hunter2, --client-secret "x y", and the same as a program's
# argument list prints them (subprocess.CalledProcessError: "Command '['psql', '--password',
# 'x']' returned non-zero exit status 2"): the flag's closing quote, a comma, then the value
# in quotes. A value that is the next flag ('--password', '-h') is none.
_CLI_FLAG = re.compile(
    r"(?P<pre>-(?<![\w-]-)-?(?:password|passwd|pwd|token|secret|client-secret|api-key|apikey"
    r"|access-key|secret-key|account-key|sas-token)(?:[ \t]{1,10}|(?P<q>[\"']),[ \t]{0,10}"
    r"(?=(?P=q))))(?![\"']?-)"
    r"(?P<val>\"[^\"\n]{0,1000}\"|'[^'\n]{0,1000}'|[^\s'\"]{1,4096})"
)
# curl's credentials, `-u user:password` (also --user, and -U/--proxy-user, the proxy's), in a
# command line or an argument list as above, after a `curl` on its line and in its command (not
# past a pipe, ';' or '&&'): other programs' -u is a user, a uid:gid ("docker run -u
# 1000:1000") or a flag of its own ("sort -u"). The user name stays; a shell variable ("$PASS")
# is no secret. The command's scan stops at the next "curl": text of many "curl"s reads in
# linear time (2 MB of "curl curl …" took 54 s when each one scanned 1,000 characters).
_CURL_USER = re.compile(
    r"(?P<pre>curl(?<![\w-]curl)(?![\w-])(?:(?!curl)[^\n|;&]|&(?!&)){0,1000}?(?<![\w-])"
    r"(?:-u|--user|--proxy-user)"
    r"(?:[ \t]{1,10}|=|(?P<q>[\"']),[ \t]{0,10}(?=(?P=q)))[\"']?"
    r"[^\s:'\"$]{1,256}:)(?P<val>(?!\$)[^\s'\"]{1,1024})"
)

# Other programs' short password flags, matched case-sensitively (the text is not folded: -P is
# the password of sqlcmd and bcp but mysql's port, -p sshpass's password but its -P a prompt).
# As for curl, the flag is looked for after the program's name on its line and in its command
# (not past a pipe, ';' or '&&'), and the scan stops where the next such command starts (the
# program's name; a login's word "login"), so text of many of them reads in linear time. The
# value follows the flag (-P x), is joined to it (-Px), or is the next item of a printed
# argument list ('-P', 'x'); one that is the next flag, or a shell variable ("$PW"), is none.
_CMD_VALUE = r"(?P<val>\"[^\"\n]{0,1000}\"|'[^'\n]{0,1000}'|[^\s'\"]{1,4096})"
_CMD_SEP = r"(?:[ \t]{1,10}|[\"'],[ \t]{0,10}[\"'])"  # between two items of a command
_CMD_FLAG_VALUE = (
    r"(?:[ \t]{1,10}|(?P<q>[\"']),[ \t]{0,10}(?=(?P=q))|(?=[^\s\"',]|[\"'][^\s\"',]))(?![\"']?-)"
)


def _command_scan(stop: str) -> str:
    return r"(?:(?!" + stop + r")[^\n|;&]|&(?!&)){0,1000}?(?<![\w-])"


# sqlcmd, bcp and osql (SQL Server): -P password.
_SQLSERVER_NAMES = r"sqlcmd|SQLCMD|bcp|BCP|osql|OSQL"
_SQLSERVER_HINTS = tuple(_SQLSERVER_NAMES.split("|"))
_SQLSERVER_PASSWORD = re.compile(
    r"(?P<pre>(?<![\w-])(?:"
    + _SQLSERVER_NAMES
    + r")(?![\w-])"
    + _command_scan(r"(?<![\w-])(?:" + _SQLSERVER_NAMES + r")(?![\w-])")
    + r"-P"
    + _CMD_FLAG_VALUE
    + r")"
    + _CMD_VALUE
)


def _program_flag(names: str, flag: str) -> re.Pattern[str]:
    """A password `flag` of the programs `names` (a regex alternation), as sqlcmd's -P above."""
    name = r"(?<![\w-])(?:" + names + r")(?![\w-])"
    return re.compile(
        r"(?P<pre>" + name + _command_scan(name) + flag + _CMD_FLAG_VALUE + r")" + _CMD_VALUE
    )


# redis-cli's -a password (its -p is the port).
_REDIS_CLI_PASSWORD = _program_flag(r"redis-cli", "-a")
# The MongoDB shell's and tools', Hive's beeline's and SAP HANA's hdbsql's -p password (one
# such as 27017:27017 is docker's port mapping, as for MySQL below).
_DB_SHELL_NAMES = r"mongo(?:sh|dump|restore|export|import|stat|top|files)?|beeline|hdbsql"
_DB_SHELL_PASSWORD = _program_flag(_DB_SHELL_NAMES, "-p")
# Db2's CONNECT TO db USER name USING password (the CLP, `db2 connect to …`, and SQL; folded).
_DB2_CONNECT = re.compile(
    r"(?P<pre>connect(?<![a-z0-9_]connect)[ \t]{1,10}to[ \t]{1,10}[^\s;'\"]{1,128}"
    r"(?:[ \t]{1,10}in[ \t]{1,10}(?:share|exclusive)[ \t]{1,10}mode)?"
    r"[ \t]{1,10}user[ \t]{1,10}[^\s;'\"]{1,128}[ \t]{1,10}using[ \t]{1,10})"
    r"(?P<val>" + r"\"[^\"\n]{0,1000}\"|'[^'\n]{0,1000}'|[^\s;'\"]{1,256}" + r")"
)
# MySQL's and MariaDB's clients: -pPASSWORD, joined (a value after a blank is the database). A
# value such as 3306:3306 is docker's port mapping (`docker run --name mysql -p3306:3306`).
_MYSQL_NAMES = (
    r"(?:mysql(?:dump|admin|import|check|show|pump|binlog|slap)?|mariadb(?:-[a-z]{1,10})?)"
)
_MYSQL_PASSWORD = re.compile(
    r"(?P<pre>(?<![\w-])"
    + _MYSQL_NAMES
    + r"(?![\w-])"
    + _command_scan(r"(?<![\w-])" + _MYSQL_NAMES + r"(?![\w-])")
    + r"-p(?=[^\s\"',-]|[\"'][^\s\"',-]))"
    + _CMD_VALUE
)
# sshpass -p password, before the command it runs (whose own -p, ssh's port, stays): only
# sshpass's options may come between (-e, -v, -d N, -P prompt).
_SSHPASS_PASSWORD = re.compile(
    r"(?P<pre>(?<![\w-])sshpass(?![\w-])"
    r"(?:"
    + _CMD_SEP
    + r"-(?:[ev]{1,2}|d"
    + _CMD_SEP
    + r"?\d{1,5}|P"
    + _CMD_SEP
    + r"?[^\s'\"]{1,64})){0,4}"
    + _CMD_SEP
    + r"-p"
    + _CMD_FLAG_VALUE
    + r")"
    + _CMD_VALUE
)
# A registry or cloud login's -p password: `az login -u x -p y`, `az acr login`, `docker login`,
# `podman login`, `helm registry login` (another docker command's -p is a port: it has no login).
_LOGIN_PASSWORD = re.compile(
    r"(?P<pre>(?<![\w-])(?:az(?:" + _CMD_SEP + r"acr)?|docker|podman|buildah|skopeo|oras"
    r"|helm"
    + _CMD_SEP
    + r"registry)"
    + _CMD_SEP
    + r"login(?![\w-])"
    + _command_scan(r"(?<![\w-])login(?![\w-])")
    + r"-p"
    + _CMD_FLAG_VALUE
    + r")"
    + _CMD_VALUE
)

# Oracle's tools take a logon, user/password[@connect identifier], as the first argument after
# their options (folded): `sqlplus -s etl/pw@//db01:1521/svc`, `sqlldr etl/pw@orcl
# control=x.ctl`, `expdp system/pw@orcl schemas=hr`, `rman target sys/pw@db`, also as a printed
# argument list and quoted whole ('etl/pw@db'), or a password quoted within it (etl/"p w"@db).
# The user stays. `sqlplus /nolog` and `/ as sysdba` name none; a shell variable is none.
_ORACLE_TOOLS = ("sqlplus", "sqlldr", "expdp", "impdp", "exp", "imp", "rman", "dgmgrl")
_ORACLE_OPTION = (
    r"-[a-z]{1,12}(?:" + _CMD_SEP + r"(?:\"[^\"\n]{0,200}\"|'[^'\n]{0,200}'|\d[\d.]{0,10}))?"
)
_ORACLE_USER = r"(?:[a-z0-9_$#.]{1,128}|\"[^\"\n/@]{1,128}\")(?:\[[a-z0-9_$#]{1,128}\])?/"
_ORACLE_PASSWORD = (
    r"(?P<val>\"[^\"\n]{0,256}\"|(?:[^\s@'\"\\/]|\\(?![nrt\"'\\])){1,256})(?![^\s@'\",;)\]\\|&<>])"
)
_ORACLE_LOGON = re.compile(
    r"(?P<pre>(?<![\w-])(?:sqlplus|sqlldr|expdp|impdp|rman|dgmgrl|(?P<short>exp|imp))"
    r"(?:\.exe)?(?![\w.-])(?:"
    + _CMD_SEP
    + _ORACLE_OPTION
    + r"){0,6}"
    + _CMD_SEP
    + r"(?:(?:target|catalog|auxiliary)(?:"
    + _CMD_SEP
    + r"|=))?[\"']?"
    + _ORACLE_USER
    + r")"
    + _ORACLE_PASSWORD
    # exp's and imp's names are short words: their logon is followed by its @connect or by
    # one of their parameters (file=, full=, owner=), not by prose ("exp backoff/retry").
    + r"(?(short)(?=@|"
    + _CMD_SEP
    + r"[a-z_]{2,20}=))"
)
# userid=user/password[@db], the same logon as a keyword (sqlldr, exp, imp, expdp, impdp, a
# parameter file's line), wherever it is.
_ORACLE_USERID = re.compile(
    r"(?P<pre>userid(?<![a-z0-9_]userid)[ \t]{0,10}=[ \t]{0,10}[\"']?"
    + _ORACLE_USER
    + r")"
    + _ORACLE_PASSWORD
)


# exp and imp are parts of common words ("expected", "import"): as a program's name, a blank, a
# quote (a printed argument list) or ".exe" follows.
_ORACLE_HINTS = (
    *(t for t in _ORACLE_TOOLS if len(t) > 3),
    *(f"{t}{after}" for t in ("exp", "imp") for after in (" ", "\t", "'", '"', ".exe")),
)


def _oracle_tool_starts(subject: str) -> list[int]:
    return sorted(_occurrences(subject, _ORACLE_TOOLS))


# SQL (folded): CREATE/ALTER USER/ROLE/LOGIN … IDENTIFIED BY 'pw' (Oracle, MySQL; also IDENTIFIED
# WITH <plugin> BY 'pw', IDENTIFIED BY VALUES/PASSWORD '…', Oracle's REPLACE 'old'), in one
# statement, which may go on over lines (the password on the line after IDENTIFIED BY; the
# line breaks real, or escaped, \n, in a JSON string). "…identified by …" in other text stays.
# `WITH PASSWORD 'pw'` and `PASSWORD = 'pw'` are the prose and key/value rules'. The scan stops
# at the next CREATE/ALTER.
# Blanks with at most one line break, real or escaped (\n, \r\n), among them: a blank line ends
# the statement (LineRedactor relies on it: no rule reads across a blank line).
_ONE_LINE_BREAK = r"(?:[ \t]{1,20}|[ \t]{0,20}(?:\r?\n|(?:\\r)?\\n)[ \t]{0,20})"
# SQL*Plus numbers the lines of a statement it echoes ("  2  IDENTIFIED BY"): a number after the
# line break is not the password.
_SQL_SPACE = r"(?:[ \t]{1,20}|[ \t]{0,20}(?:\r?\n|(?:\\r)?\\n)[ \t]{0,20}(?:\d{1,4}[ \t]{1,10})?)"
_SQL_VALUE = (
    r"\"[^\"\n]{0,1000}\"|'[^'\n]{0,1000}'|\\{1,15}\"[^\"\n]{0,1000}?\\{1,15}\""
    r"|(?:[^\s;'\"\\]|\\(?![nrt\"'\\])){1,256}"
)


def _sql_word(word: str) -> str:
    """`word`, where a word starts: no letter, digit or _ before it, but the n, r or t of an
    escaped line break or tab (the lookbehinds, placed after it, keep its literal scan)."""
    return f"{word}(?<![a-mo-qsu-z0-9_]{word})(?<![^\\\\][nrt]{word})"


_SQL_IDENTIFIED_BY = re.compile(
    r"(?P<pre>(?:" + _sql_word("create") + "|" + _sql_word("alter") + r")[ \t]{1,10}"
    r"(?:user|role|login)(?![a-z0-9_])"
    r"(?:(?!(?<![a-z0-9_])(?:create|alter)(?![a-z0-9_]))(?:[^;\n]|\n(?![ \t\r]*\n))){0,500}?"
    + _sql_word("identified")
    + _SQL_SPACE
    + r"(?:with"
    + _SQL_SPACE
    + r"[a-z0-9_'\"]{1,64}"
    + _SQL_SPACE
    + r")?(?:by|as)"
    + _SQL_SPACE
    + r"(?:(?:password|values)"
    + _SQL_SPACE
    + r")?)"
    r"(?P<val>" + _SQL_VALUE + r")"
    r"(?:(?P<mid>" + _SQL_SPACE + r"replace" + _SQL_SPACE + r")(?P<old>" + _SQL_VALUE + r"))?"
)
# MySQL 5's SET PASSWORD … = PASSWORD('pw') (folded); not get_password('name') or x.password('y').
_SQL_PASSWORD_FUNCTION = re.compile(
    r"(?P<pre>password(?<![a-z0-9_.]password)\([ \t]{0,10})"
    r"(?P<val>'[^'\n]{0,1000}'|\"[^\"\n]{0,1000}\")(?=[ \t]{0,10}\))"
)
# Python HTTP clients' basic credentials as a traceback prints the call (folded): requests'
# auth=('user', 'pw') (also basic_auth=, http_auth=, session.auth = , 'auth': (…)) and
# HTTPBasicAuth('user', 'pw') (HTTPDigestAuth, HTTPProxyAuth, httpx's and aiohttp's
# BasicAuth). The password is the second item, a quoted string (a variable is no secret); the
# user, quoted or a name, stays. A traceback kept in a JSON string has its double quotes escaped
# (auth=(\"user\", \"…\")), once per level of JSON it is inside.
_CLIENT_AUTH = re.compile(
    r"(?P<pre>(?:auth(?<![a-z0-9]auth)(?![a-z0-9])\\{0,15}[\"']?[ \t]{0,10}[=:][ \t]{0,10}\("
    r"|(?:basic|digest|proxy)auth\()[ \t]{0,10}"
    r"(?:\"[^\"\n]{0,256}\"|'[^'\n]{0,256}'|[a-z_][a-z0-9_.]{0,128}(?:\[[^\]\n]{0,64}\])?"
    r"|\\{1,15}\"[^\"\n]{0,256}?\\{1,15}\")"
    r"[ \t]{0,10},[ \t]{0,10})"
    r"(?P<val>\"[^\"\n]{0,1000}\"|'[^'\n]{0,1000}'|\\{1,15}\"[^\"\n]{0,1000}?\\{1,15}\")"
    r"(?=[ \t]{0,10}[,)])"
)
# A secret-named setting given to a call as two quoted strings, as a traceback quotes the line
# (folded): Spark's .option("password", "…") (.option("sfPassword", …), .config("spark.hadoop.
# fs.s3a.secret.key", …), spark.conf.set(…)), Java's props.put("password", …) and
# setProperty(…). The name is a secret's as `is_secret_key` reads a key (not "user", "url").
_SECRET_SETTING_CALL = re.compile(
    r"(?P<pre>(?:option|config|set|put|setproperty)\([ \t]{0,10}(?P<kq>\\{0,15}[\"'])"
    r"(?P<key>[a-z0-9_.-]{1,128})(?P=kq)[ \t]{0,10},[ \t]{0,10})"
    r"(?P<val>\"[^\"\n]{0,1000}\"|'[^'\n]{0,1000}'|\\{1,15}\"[^\"\n]{0,1000}?\\{1,15}\")"
    r"(?=[ \t]{0,10}\))"
)
# A .netrc entry (folded): machine <host> login <user> [account <x>] password <password>, on one
# line or a token a line.
_NETRC_SPACE = _ONE_LINE_BREAK
_NETRC_PASSWORD = re.compile(
    r"(?P<pre>(?:machine(?<![a-z0-9_]machine)"
    + _NETRC_SPACE
    + r"[^\s\\]{1,256}|default(?<![a-z0-9_]default))"
    + _NETRC_SPACE
    + r"login"
    + _NETRC_SPACE
    + r"[^\s\\]{1,256}"
    r"(?:"
    + _NETRC_SPACE
    + r"account"
    + _NETRC_SPACE
    + r"[^\s\\]{1,256})?"
    + _NETRC_SPACE
    + r"password"
    + _NETRC_SPACE
    + r")"
    r"(?P<val>\"[^\"\n]{0,256}\"|[^\s\"\\]{1,256})"
)
# Kafka's Schema Registry credentials, basic.auth.user.info=<user>:<password> (folded; also
# schema.registry.basic.auth.user.info, and quoted in JSON): the user stays.
_USER_INFO = re.compile(
    r"(?P<pre>basic\.auth\.user\.info\\{0,15}[\"']?[ \t]{0,10}[=:,][ \t]{0,10}\\{0,15}[\"']?"
    r"[^\s:'\"\\]{1,256}:)(?P<val>[^\s'\"\\,;]{1,1024})"
)
# A kubeconfig's client-key-data: the client's private key, a base64-encoded PEM block.
_KUBECONFIG_KEY_DATA = re.compile(
    r"(?P<pre>client-key-data(?<![\w-]client-key-data)\\{0,15}[\"']?[ \t]{0,10}[:=][ \t]{0,10}"
    r"\\{0,15}[\"']?)[a-z0-9+/]{16,65536}={0,2}"
)
# A URL inside another URL's query, percent-encoded once or twice (folded):
# https%3A%2F%2Fuser%3Apassword%40host (the unencoded form is _URL_USERINFO's), and its query's
# secrets, sig%3D… of a SAS URL, token%3D…, code%3D… (the unencoded ones are _KV's and
# _QUERY_CODE's). The password ends at the first encoded '@' of its level (one in the password
# is encoded once more); a value at the next encoded '&' or '#', or a raw one.
_URL_USERINFO_ENCODED = re.compile(
    r"(?P<pre>(?P<e>%(?:25)?)3a(?P=e)2f(?P=e)2f"
    r"(?:[^\s%/?#@:'\"<>&]|(?!(?P=e)(?:3a|40|2f|3f|23))%[0-9a-f]{2}){0,256}(?P=e)3a)"
    r"(?P<val>(?:[^\s%/?#@'\"<>&]|(?!(?P=e)(?:40|2f|3f|23))%[0-9a-f]{2}){1,256})(?P<at>(?P=e)40)"
)
_QUERY_ENCODED = re.compile(
    r"(?P<pre>(?P<e>%(?:25)?)(?:3f|26)(?P<key>[a-z0-9_.-]{0,64}?(?P<word>"
    + _KEY_CORE
    + r"|code))(?P=e)3d)"
    r"(?P<val>(?:[^\s%&#'\"<>]|(?!%(?:25)?(?:26|23))%[0-9a-f]{2}){1,4096})"
)

# --- Secrets stated in plain words (folded) ------------------------------------------------------
# "password 'x'", "password is x", "the new password is: x", "the password for user etl on host
# db01 is x", "with password x", "passphrase is correct horse battery staple". Only the value goes;
# the sentence stays, and so does prose such as "password is incorrect", "password authentication
# failed for user \"etl\"" or "token is from the wrong tenant" (see _prose_secret).
_STRONG_WORDS = frozenset({"password", "passwd", "passphrase", "pwd"})
_PROSE_SECRET = re.compile(
    r"(?P<word>pass(?:word|wd|phrase)|pwd|secret|token|api[ _-]?key)(?![a-z0-9])"
    # "for/of/on/to" and up to 8 words naming whose secret it is; none ends a clause.
    r"(?P<mid>(?:[ \t]{1,10}(?:for|of|on|to)(?:[ \t]{1,10}[^\s]{0,63}[^\s.,;:!?]){1,8}?)?"
    r"[ \t]{1,10}(?P<verb>(?:(?:is|was|has[ \t]been)[ \t]{1,10})?(?:set|changed|reset)[ \t]{1,10}to"
    r"|is|was)(?:[ \t]{0,3}:)?[ \t]{1,10}"
    r"|(?P<colon>[ \t]{0,10}:)[ \t]{1,10}|[ \t]{1,10})"
    r"(?P<val>\\\"(?:[^\"\\\n]|\\[^\"\n]){1,1000}?\\\""  # \"value\" (JSON in a JSON string)
    r"|\"(?:[^\"\\\n]|\\.){1,1000}\"|'[^'\n]{1,1000}'"  # "value", 'value'
    r"|(?:[^\s\"\\]|\\(?![nrt\"'\\])){1,256})"  # one bare token
    # Up to 8 more plain words (a passphrase, or the rest of the clause). None starts with a key
    # word, so no match can begin inside what a replacement passes through unchanged.
    r"(?P<more>(?:[ \t]{1,10}(?!pass|pwd|secret|token|api)[a-z]{1,30}"
    r"(?![^\s.,;:!?)\]}'\"])){0,8})"
)
# A value that is a secret's name followed by a colon ("password is token: x") labels the next.
_SECRET_LABEL = re.compile(r"pass(?:word|wd|phrase)?|pwd|secret|token|api[ _-]?key")
# "with password x", "using the password x": a bare value right after the word needs this before.
_WITH_BEFORE = re.compile(r"(?<![a-z0-9])(?:with|using)[ \t]{1,10}(?:[a-z]{1,12}[ \t]{1,10})?$")
# Words that describe the secret rather than being it: function words, states and verdicts
# ("password is incorrect"), nouns that follow the word in compounds ("with password
# authentication"). Function words never start a passphrase ("password is the same as before").
_FUNCTION_WORDS = (
    "a an the and or but nor not no of for to from in on at by with without as into onto via per"
    " than then that this these those which who whom whose when where while if is are was were be"
    " been being has have had do does did will would can could should must may might shall it its"
    " their his her your my our all any some each both either neither only also still now just"
    " already yet even ever never always often again about due very too so such more most less"
    " least much many other another same own here there what how why since until because unless"
    " though although whether please today yesterday tomorrow"
)
_PROSE_WORDS = (
    " ok okay fine good bad wrong incorrect correct right invalid valid weak strong short long old"
    " new empty blank null none nil missing absent present required mandatory optional needed"
    " unknown known unset set reset changed expired locked disabled enabled unavailable available"
    " revoked mismatched malformed incomplete truncated stale outdated true false yes hidden masked"
    " redacted encrypted hashed plaintext cleartext older newer longer shorter weaker stronger last"
    " first next current previous default temporary permanent different insecure secure case"
    " safe unsafe fake dummy bogus simple common trivial easy hard greedy lazy plain clear"
    " sufficient insufficient compliant noncompliant sensitive insensitive obsolete active inactive"
    " ambiguous useless effective ineffective adequate inadequate appropriate inappropriate proper"
    " improper unique identical similar equal legacy necessary unnecessary primary secondary"
    " ordinary arbitrary generic static dynamic numeric alphanumeric complex random visible"
    " invisible consistent inconsistent persistent pending recent accurate inaccurate exact ready"
    " forbidden sent bound lost kept held built made done gone given taken shown seen read found"
    " left spent stolen broken written chosen frozen forgotten shut cut put got gotten drawn"
    " expire expires change rotate meet match comply use minimum maximum"
    " auth authentication authenticator login logon signin credential credentials policy policies"
    " hash hashes change field prompt file manager vault store rotation refresh expiry expiration"
    " length complexity history requirement requirements rule rules mismatch provider grant flow"
    " type scope name id key value endpoint url uri request response exchange cache lifetime age"
    " encryption protection based header cookie audience issuer claim claims signature format"
    " prefix error failure check validation verification attempt attempts retry limit count"
    " parameter argument option setting settings property variable env config configuration entry"
    " account user username server host database service principal app application client tenant"
    " character characters chars digit digits letter letters symbol symbols number numbers"
    " reuse lockout writeback sync spray strength quality storage generator recovery entropy"
    " input dialog box mode support access"
)
_FUNCTION = frozenset(_FUNCTION_WORDS.split())
_NOT_SECRETS = _FUNCTION | frozenset(_PROSE_WORDS.split())
# Endings of words that state something about a secret ("expiring", "case-sensitive"). After
# "password is" only the participle and adverb ones count: a bare word there is the password
# unless it is a listed state word, and many passwords are English words ("adventure").
_STATE_ENDINGS = ("ed", "ing", "ly", "able", "ible")
# After "with password" a compound noun is as likely ("with password synchronization").
_NOUN_ENDINGS = (*_STATE_ENDINGS, "tion", "sion", "ment")
_ENDINGS = "ed ing ly able ible ive tion sion ment ness ful less ous ity ent ant ence ance ise ize"
_ENGLISH_ENDINGS = tuple(f"{_ENDINGS} ure ary ory ical".split())
_CLAUSE_END = re.compile(r"[ \t]*(?:$|[\r\n.,;:!?)\]}'\"])")
_CLOSES_STRING = re.compile(r"[ \t]{0,10}[,:;)}\]]")
_TRAILING_PUNCT = ".,;:'\")]}>"


_EMAIL_DOMAIN = r"(?:[A-Za-z0-9\-]{1,63}\.){1,10}[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
# Not after "//": "ssh://git@github.com" names a login, not an address; one in a path
# ("/Users/jane.doe@contoso.com/etl", a Databricks notebook) is an address.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])(?<!//)[A-Za-z0-9._%+\-]{1,64}@(?P<domain>" + _EMAIL_DOMAIN + ")"
)
# What ends a file's name, never a top-level domain: "queries/a/b@c.sql" names a file. (Not
# `.java` or `.properties`: both are delegated top-level domains, so "jane@acme.properties" may
# be an address.)
_FILE_EXTENSIONS = frozenset(
    {"sql", "hql", "csv", "tsv", "json", "jsonl", "parquet", "avro", "orc", "txt", "log", "yaml"}
    | {"yml", "conf", "cfg", "ini", "jar", "whl", "ipynb", "scala", "xml", "gz", "pem"}
    | {"toml", "keytab", "crt", "pyc", "dll", "exe", "tmp", "bak"}
)
# A Kerberos service principal, service/host@REALM ("hive/db01.corp.example.com@CORP.EXAMPLE.COM"):
# a service's name as the word before "/" (not a directory of a path), an upper-case realm.
_SERVICE_BEFORE = re.compile(r"(?<![\w./-])[A-Za-z][\w-]{0,30}/$")
# git's scp-like remote, user@host:path ("git@github.com:org/etl.git"): a login on a host, as
# "ssh://git@github.com/org/etl.git" is.
_REMOTE_PATH = re.compile(r":[\w~.-]{0,256}/|:[\w~./-]{1,256}\.git(?![\w.-])")


def _email(m: re.Match[str], text: str) -> str:
    domain = m["domain"]
    if domain.rsplit(".", 1)[-1].lower() in _FILE_EXTENSIONS:
        return m[0]
    if domain.isupper() and _SERVICE_BEFORE.search(text, max(0, m.start() - 32), m.start()):
        return m[0]
    if _REMOTE_PATH.match(text, m.end()):
        return m[0]
    return REDACTED_EMAIL


# The same address percent-encoded in a URL ("users/jane.doe%40contoso.com/manager").
_EMAIL_ENCODED = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._+\-]{1,64}%40" + _EMAIL_DOMAIN)

_WEAK_KEYS = frozenset({"token", "secret", "sig", "signature", "pass", "sas"})
# dbt's run summary (its StatsLine), "Done. " included: a digits-only password followed by
# words like its counts ("DB_PASS=2024 WARN=0 ERROR=0 ") is no summary.
_DBT_SUMMARY_LEAD = "Done. "
_DBT_SUMMARY = re.compile(r"Done\. PASS=\d+ WARN=\d+ ERROR=\d+ ")
_ERROR_CODE = re.compile(r"[A-Z]{2,}[-_]?\d{2,}:?")
# A word of any script after the value ("Пароль: неверный для пользователя", "Passwort:
# abgelaufen für"): the value is a sentence's word, as in English.
_PROSE_FOLLOWS = re.compile(r"[ \t]+(?:[^\W\d_]|\()")
_IDENT_CHARS = frozenset(string.ascii_letters + string.digits + "_-.")


def _looks_random(value: str) -> bool:
    """Heuristic for "this is a credential, not a word": letters mixed with digits, or long
    mixed-case. Keeps "Bearer token-based auth" and error codes like AADSTS7000215 intact."""
    if len(value) < 8 or _ERROR_CODE.fullmatch(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    if has_digit and has_alpha:
        return True
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    return len(value) >= 20 and has_upper and has_lower


def _full_key(text: str, start: int, end: int) -> str:
    """The whole identifier ending in the matched key word (``clientSecret`` for ``Secret``)."""
    i = start
    while i > 0 and start - i < 64 and text[i - 1] in _IDENT_CHARS:
        i -= 1
    return text[i:end]


# A template's stand-in for a value, not a value: "Password=<your-password>", "AccountKey=<key>",
# "password=${DB_PASSWORD}", "{{secrets/etl/sql-password}}" (a Databricks secret reference), "Bearer
# <token>": advice written as a template (a Gemini RCA's recommendation, a runbook) keeps it.
_PLACEHOLDER = re.compile(
    r"<[A-Za-z][A-Za-z _.-]{0,60}>|\$\{[A-Za-z_][A-Za-z0-9_]{0,60}\}|\{\{[^{}\n]{1,80}\}\}"
)


def _is_placeholder(text: str, start: int, end: int) -> bool:
    """Whether the value at text[start:end] (its quotes, and punctuation after it, aside) is a
    placeholder, which may run on past `end` (the closing braces of "{{secrets/etl/pw}}")."""
    while start < end and text[start] in "\"'\\":
        start += 1
    found = _PLACEHOLDER.match(text, start)
    return found is not None and found.end() >= start + len(text[start:end].rstrip("\"'\\.,;:)"))


def _kv(m: re.Match[str], text: str) -> str:
    whole = text[m.start() : m.end()]
    key, mid, val = _group(m, text, "key"), _group(m, text, "mid"), _group(m, text, "val")
    core = m["key"]
    if core in _SHORT_KEYS and m.start() > 0 and text[m.start() - 1].isalnum():
        return whole  # "xsig=", "mypass:" - not the short key word itself
    if _DBT_SUMMARY.match(text, max(0, m.start() - len(_DBT_SUMMARY_LEAD))):
        return whole  # dbt's "Done. PASS=12 WARN=0 ERROR=1 …": a count of the nodes passed
    if _is_placeholder(text, *m.span("val")):
        return whole
    if val[:2] in ("N'", "n'") and len(val) >= 3 and val[-1] == "'":
        # T-SQL's Unicode string (PASSWORD = N'…'): its N stays
        inner = val[2:-1]
        return whole if not inner or inner == REDACTED else f"{key}{mid}{val[0]}'{REDACTED}'"
    quote = ""
    if val[0] == "\\" and (escaped := _quote_of(val)):
        quote, inner = escaped, val[len(escaped) : -len(escaped)]
    elif len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
        quote, inner = val[0], val[1:-1]
    elif val[0] == "{" and val[-1] == "}":
        inner = val[1:-1]
    else:
        inner = val.lstrip("\"'")
        quote = val[: len(val) - len(inner)]
    if not inner or inner == REDACTED or inner.startswith(REDACTED + "@"):
        # masked already, by an earlier rule: what follows the '@' is the text's
        # ("token:[REDACTED]@host"); anything else after the mark is the value's own rest
        return whole
    json_member = _JSON_MID.fullmatch(mid) is not None
    if json_member and val[0] == "{":
        if _KEY_VAULT_REFERENCE_TYPE in _fold(val):
            members, count = _JSON_MEMBER_STRING.subn(_key_vault_member, val)
        else:
            members, count = _JSON_MEMBER_STRING.subn(_json_member, val)
        if count:
            return f"{key}{mid}{members}"  # {"type": "SecureString", "value": "…"}
    if json_member and not quote and (inner in _JSON_LITERALS or inner[0] == "["):
        return whole  # null, true, false (with the braces after it), an array
    full_key = _full_key(text, m.start(), m.end("key")).lower()
    if full_key == "pwd" and inner[:1] in "/~":
        return whole  # PWD=/opt/airflow is a working directory, not a password
    if not quote and mid == "=" and _in_query(text, m.end("key") - len(full_key)):
        # A query parameter's value ("?sig=…", "&token=…"): the punctuation after it is the
        # text's, as after `code=` ("(see https://x/f?token=KEY)." keeps ").").
        end = _query_value_end(inner)
        if not end or inner[:end] == REDACTED:
            return whole
        return f"{key}{mid}{REDACTED}{inner[end:]}"
    if ":" in mid and not quote and val[0] != "{":
        if inner.rstrip(")").upper() in ("YES", "NO"):
            return whole  # MySQL's "(using password: YES)": whether one was sent, not which
        if full_key in _WEAK_KEYS:
            # "Invalid token: The token has expired", "acquire token: AADSTS7000215"
            if not _looks_random(inner):
                return whole
        elif inner.isalpha() and _PROSE_FOLLOWS.match(text, m.end()):
            # "password: must contain a digit" - a sentence, not a credential
            return whole
    if json_member and not quote:
        # A JSON value: the braces and brackets after it close the objects it is in; a number
        # masked becomes a string.
        body = inner.rstrip("}]")
        if not body or body in _JSON_LITERALS:
            return whole
        kq = mid[: len(mid) - len(mid.lstrip("\\")) + 1] if _JSON_NUMBER.fullmatch(body) else ""
        return f"{key}{mid}{kq}{REDACTED}{kq}{inner[len(body) :]}"
    if val[0] == "{":
        return f"{key}{mid}{{{REDACTED}}}"
    end_quote = quote if quote and val.endswith(quote) and len(val) > len(quote) else ""
    return f"{key}{mid}{quote}{REDACTED}{end_quote}"


# The middle of a JSON member, "key": (its quotes escaped once per level of JSON it is inside),
# or of a Python dict's repr, 'key': (a traceback's).
_JSON_MID = re.compile(r"\\{0,15}[\"'][ \t]{0,10}:[ \t]{0,10}")
_JSON_LITERALS = frozenset({"null", "true", "false", "None", "True", "False"})
_JSON_NUMBER = re.compile(r"-?\d{1,100}(?:\.\d{1,100})?(?:e[+-]?\d{1,10})?")
# A string member of a JSON object ("value": "…", at any level of escaping) or of a dict's repr.
_JSON_MEMBER_STRING = re.compile(
    r"(?P<pre>[\"'][ \t]{0,10}:[ \t]{0,10}(?P<q>\\{0,15}\"|'))"
    r"(?P<val>(?:[^\"\n]|(?<=\\)\"){0,1000}?)(?<!\\)(?P=q)"
)


def _json_member(m: re.Match[str]) -> str:
    if not m["val"] or m["val"] == REDACTED:
        return m[0]
    return m["pre"] + REDACTED + m["q"]


# The name of the member whose value _JSON_MEMBER_STRING found: the word before its match,
# its closing quote escaped or not.
_MEMBER_NAME = re.compile(r"([A-Za-z]{1,40})\\{0,15}$")


def _key_vault_member(m: re.Match[str]) -> str:
    """A string member of a Key Vault reference written in a text (`_KEY_VAULT_REFERENCE_TYPE`
    is in its object): those naming the reference's kind, its store and its secret are kept,
    as `redact_data` keeps them in a parsed body."""
    name = _MEMBER_NAME.search(m.string, max(0, m.start() - 56), m.start())
    if name is not None and name[1] in _KEY_VAULT_REFERENCE_TEXT_MEMBERS:
        return m[0]
    return _json_member(m)


_KEY_VAULT_REFERENCE_TEXT_MEMBERS = frozenset(
    {"type", "referenceName", "secretName", "secretVersion"}
)


def _auth_header(m: re.Match[str], text: str) -> str:
    whole = text[m.start() : m.end()]
    val = _group(m, text, "val")
    if val == REDACTED or _is_placeholder(text, *m.span("val")):
        return whole
    if m["scheme"] == "digest" and "=" in val:
        return whole  # its parameters (username="…", realm="…"): _DIGEST_RESPONSE masks one
    if m["scheme"] and (
        _CHALLENGE_PARAMETER.match(m["val"]) or m["val"].rstrip(".,;:!") in _AUTH_OUTCOMES
    ):
        return whole  # 'Basic realm="…"' (a challenge), "Token expired": no credential
    if m["scheme"] or _looks_random(val):
        end = m.end("val") - len(_unopened_closers(val))
        return _group(m, text, "pre") + REDACTED + text[end : m.end()]
    second = _group(m, text, "val2")
    if (
        second != REDACTED
        and _AUTH_SCHEME.fullmatch(val)
        and val.lower() not in _AUTH_OUTCOMES
        and "=" not in second.rstrip("=")
        and _looks_random(second)
    ):
        before = text[m.start("val") : m.start("val2")]
        return _group(m, text, "pre") + before + REDACTED + _unopened_closers(second)
    # "Authorization: denied", "authorization: required for principal etl-sp", "Authorization:
    # Denied reason=0x80070005", "Authorization: Failed <correlation id>"
    return whole


def _unopened_closers(value: str) -> str:
    """The brackets ending `value` beyond those it opened, with any punctuation after them:
    the text's own, closed after the credential ("(sent Authorization: Bearer <token>)"); no
    token format uses them."""
    closed = value.rstrip(".,;:!?")  # the sentence's punctuation after its bracket
    if not closed.endswith((")", "]", "}")):
        return ""
    stripped = closed.rstrip(")]}")
    opened = sum(stripped.count(opener) for opener in "([{")
    return value[len(stripped) + opened :]


def _hadoop_credential(m: re.Match[str], text: str) -> str:
    # "… value detected for fs.azure.account.key is invalid": the name in prose, no value.
    value = _group(m, text, "val")
    if not _looks_random(value) or _JAVA_CLASS.fullmatch(value):
        return text[m.start() : m.end()]
    return _group(m, text, "pre") + REDACTED


def _xml_secret_element(m: re.Match[str], text: str) -> str:
    value = _group(m, text, "val")
    if not _XML_SECRET_TAG.fullmatch(m["tag"]) or not value.strip() or value.strip() == REDACTED:
        return text[m.start() : m.end()]
    start, end = m.span("val")
    return text[m.start() : start] + REDACTED + text[end : m.end()]


def _xml_property(m: re.Match[str], text: str) -> str:
    value = _group(m, text, "val")
    if not _XML_PROPERTY_SECRET.search(m["key"]) or not value.strip() or value.strip() == REDACTED:
        return text[m.start() : m.end()]
    start, end = m.span("val")
    return text[m.start() : start] + REDACTED + text[end : m.end()]


def _is_basic_credential(value: str) -> bool:
    # base64("user:pass") is often letters only ("dXNlcjpwYXNz"), so _looks_random misses it.
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()


def _bearer(m: re.Match[str], text: str) -> str:
    val = _group(m, text, "val")
    if _looks_random(val) or (m["pre"].startswith("basic") and _is_basic_credential(val)):
        return _group(m, text, "pre") + REDACTED
    return text[m.start() : m.end()]


def _cookie(m: re.Match[str], text: str) -> str:
    """Each cookie's value masked; names and Set-Cookie attributes kept."""
    out: list[str] = []
    last = 0
    val = _group(m, text, "val")
    for pair in _COOKIE_PAIRS.finditer(val):
        value = pair["value"]
        if value and value != REDACTED and pair["name"].lower() not in _COOKIE_ATTRIBUTES:
            out += [val[last : pair.start("value")], REDACTED]
            last = pair.end("value")
    return _group(m, text, "pre") + "".join([*out, val[last:]])


# A segment of four digits or more between slashes: a path's year or date partition
# ("Raw/Sales/2024/01/15/Part000001", the object an S3 error names beside the key id), which
# one secret key in about 45,000 has.
_PATH_DIGITS = re.compile(r"(?:^|/)\d{4,}(?:/|$)")


def _aws_key_pair(m: re.Match[str], text: str) -> str:
    val = m["val"]
    mixed_case = any(c.isupper() for c in val) and any(c.islower() for c in val)
    path = _PATH_DIGITS.search(val) is not None
    if mixed_case and any(c.isdigit() or c in "/+" for c in val) and not path:
        return m["pre"] + REDACTED
    return m[0]


def _keep_prefix(m: re.Match[str], text: str) -> str:
    return _group(m, text, "pre") + REDACTED


# The brackets a query parameter's value may close without having opened them.
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}


def _query_value_end(value: str) -> int:
    """Where a query parameter's bare value ends in running text: before the punctuation after
    it that ends the sentence or clause (. , ; : ! ?) or closes a bracket the value did not
    open, as a linkifier reads a URL in prose ("(see https://x/f?code=KEY)." keeps ")."). A
    bracket the value opened, and punctuation inside it, stay the value's."""
    end = len(value)
    while end:
        char = value[end - 1]
        opener = _CLOSERS.get(char)
        if char in ".,;:!?" or (
            opener is not None and value.count(char, 0, end) > value.count(opener, 0, end)
        ):
            end -= 1
            continue
        break
    return end


def _query_code(m: re.Match[str], text: str) -> str:
    """`code=` in a query: its value masked, the punctuation after it kept."""
    val = _group(m, text, "val")
    end = _query_value_end(val)
    if not end:
        return text[m.start() : m.end()]  # punctuation only: no value
    return _group(m, text, "pre") + REDACTED + val[end:]


def _in_query(text: str, key_start: int) -> bool:
    """Whether the key starting at `key_start` is a URL query's parameter (after ? or &)."""
    return key_start > 0 and (text[key_start - 1] in "?&" or text.endswith("&amp;", 0, key_start))


def _keep_prefix_at(m: re.Match[str], text: str) -> str:
    return _group(m, text, "pre") + REDACTED + "@"


def _cli_flag(m: re.Match[str], text: str) -> str:
    pre, val = _group(m, text, "pre"), _group(m, text, "val")
    if val[0] in "\"'" and len(val) >= 2 and val[-1] == val[0]:
        return pre + val[0] + REDACTED + val[0]
    return pre + REDACTED


def _quote_of(value: str) -> str:
    """The quote `value` is between: ' or ", or one escaped as a JSON string escapes it, at any
    depth (\\" in a JSON string, \\\\\\" in one inside that); "" for a bare value."""
    quote = value[: len(value) - len(value.lstrip("\\")) + 1]
    if quote[-1:] in ("'", '"') and len(value) >= 2 * len(quote) and value.endswith(quote):
        return quote
    return ""


def _masked_value(value: str) -> str | None:
    """`value` (quoted or bare) masked, its quotes kept; None when there is nothing to mask: it
    is empty, already masked or a shell variable ("$PW", "${PW}")."""
    quote = _quote_of(value)
    inner = value[len(quote) : len(value) - len(quote)]
    if not inner or inner == REDACTED or inner[0] == "$":
        return None
    return f"{quote}{REDACTED}{quote}"


def _command_password(m: re.Match[str], text: str) -> str:
    masked = _masked_value(_group(m, text, "val"))
    return text[m.start() : m.end()] if masked is None else _group(m, text, "pre") + masked


# docker's -p: [ip:]host port:container port[/protocol].
_PORT_MAPPING = re.compile(
    r"(?:[\d.]{1,45}:)?\d{1,5}(?:-\d{1,5})?:\d{1,5}(?:-\d{1,5})?(?:/[a-z]{3,4})?"
)


def _password_unless_port_mapping(m: re.Match[str], text: str) -> str:
    if _PORT_MAPPING.fullmatch(_group(m, text, "val")):
        return text[m.start() : m.end()]
    return _command_password(m, text)


# What follows IDENTIFIED BY that is no password: MySQL's RANDOM PASSWORD, or a sentence.
_SQL_NOT_A_VALUE = frozenset({"random", "password", "values"}) | _FUNCTION


# A statement's placeholder for the password, no password: a host or bind variable (`:pw`),
# SQL*Plus's substitution variable (`&pw`, `&&pw`), a parameter marker (`?`).
_SQL_PLACEHOLDER = re.compile(r"\?|:[a-z_][a-z0-9_]{0,127}|&{1,2}[a-z_][a-z0-9_]{0,127}\.?", re.I)


def _sql_identified_by(m: re.Match[str], text: str) -> str:
    whole = text[m.start() : m.end()]
    val = _group(m, text, "val")
    if val.lower() in _SQL_NOT_A_VALUE or _SQL_PLACEHOLDER.fullmatch(val) or val[:2] == "--":
        return whole  # "-- …": a comment on the line after IDENTIFIED BY
    masked = _masked_value(val)
    if masked is None:
        return whole
    out = _group(m, text, "pre") + masked
    if m["old"] is not None:
        old = _group(m, text, "old")
        out += _group(m, text, "mid") + (_masked_value(old) or old)
    return out


def _quoted_value(m: re.Match[str], text: str) -> str:
    masked = _masked_value(_group(m, text, "val"))
    return text[m.start() : m.end()] if masked is None else _group(m, text, "pre") + masked


def _secret_setting_call(m: re.Match[str], text: str) -> str:
    key = _group(m, text, "key")
    value = _group(m, text, "val")
    if not is_secret_key(key) or names_an_auth_mechanism(key, value.strip("\\\"'")):
        return text[m.start() : m.end()]  # .option("user", "etl"), .option("auth", "kerberos")
    return _quoted_value(m, text)


def _db2_connect(m: re.Match[str], text: str) -> str:
    val = _group(m, text, "val")
    if val.lower() in _SQL_NOT_A_VALUE or _SQL_PLACEHOLDER.fullmatch(val):
        return text[m.start() : m.end()]  # "… user etl using the default …", "… using :pw"
    return _command_password(m, text)


def _url_userinfo_encoded(m: re.Match[str], text: str) -> str:
    return _group(m, text, "pre") + REDACTED + _group(m, text, "at")


def _query_encoded(m: re.Match[str], text: str) -> str:
    """An encoded query parameter's value masked, the punctuation after it kept. A short key
    word (sig, pwd, pass, sas) is the name or its last part (x_sig), `code` the whole name."""
    whole = text[m.start() : m.end()]
    key, word = m["key"], m["word"]
    short = word == "code" or word in _SHORT_KEYS
    if short and key != word and (word == "code" or key[-len(word) - 1] not in "_.-"):
        return whole
    val = _group(m, text, "val")
    end = _query_value_end(val)
    if not end or val[:end] == REDACTED:
        return whole
    return _group(m, text, "pre") + REDACTED + val[end:]


def _credential_like(value: str) -> bool:
    """Four or more characters with a digit, a symbol or capitals inside the word ("Hunter2",
    "p@ss", "HunterTwo"); not an error code."""
    if len(value) < 4 or _ERROR_CODE.fullmatch(value):
        return False
    if any(c.isdigit() for c in value):
        return True
    if any(not c.isalnum() and c not in "-_." for c in value):
        return True
    return any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)


def _prose_value(value: str, endings: tuple[str, ...] = _ENGLISH_ENDINGS) -> bool:
    """A word that describes the secret ("incorrect", "not", "expiring", "case-sensitive")."""
    parts = value.lower().split("-")
    if not all(p.isalpha() for p in parts):
        return False
    return any(p in _NOT_SECRETS or (len(p) > 4 and p.endswith(endings)) for p in parts)


def _passphrase(first: str, more: list[str], clause_ends: bool) -> bool:
    """Plain words that end the clause and, after the first, say nothing about the secret:
    "correct horse battery staple", but not "incorrect for user etl", "expired since
    yesterday" or "correct, but expired". With a state word first, three words at least
    ("the password is correct horse" stays)."""
    if not (clause_ends and more and first.isalpha()) or first.lower() in _FUNCTION:
        return False
    if len(more) < 2 and _prose_value(first, _STATE_ENDINGS):
        return False
    return not any(_prose_value(w) for w in more)


_PLAIN_WORD = re.compile(r"[a-zA-Z]+")


def _prose_secret(m: re.Match[str], text: str) -> str:
    """The value of a secret named in a sentence, unless the words after it say something about
    it ("password is incorrect", "token is from the wrong tenant").

    After "password/passphrase/passwd/pwd is|was[:]" (or "set/changed/reset to") the next token is
    the password unless it is a listed state word ("expired", "incorrect", "not", "too", "set",
    "correct", ...) or a participle or adverb ("expiring", "recently"); other English words count as
    passwords ("the password is adventure"). A state word followed by two or more plain words that
    end the clause is read as a passphrase and all of it goes: "passphrase is correct horse battery
    staple" loses "correct" too, while "the password is correct" and "the password is correct for
    user etl" stay. Leaking a passphrase costs more than masking an odd sentence, and a run of plain
    words with no function or state word in it is rarely a sentence about a password. A password
    that is a word takes the plain words after it up to one that reads as prose ("the password is
    adventure time, rotate it" masks "adventure time").

    "token", "secret" and "api key" are also names ("Unexpected token '<'"), so after them a
    value needs "is/was" or "with" and, after "with", to look like a credential; after "is" any
    word that is not prose by the wider test (state words or English endings) goes.

    "password: x" is the key/value rule's, which keeps "password: must contain a digit"; here
    only a passphrase after it ("passphrase: correct horse battery staple").
    """
    whole = text[m.start() : m.end()]
    if m.start() > 0 and m.string[m.start() - 1].isalnum():
        return whole  # inside a longer word
    val = _group(m, text, "val")
    weak = m["word"] not in _STRONG_WORDS
    colon = m["colon"] is not None
    if colon and weak:
        return whole
    prefix, rest = text[m.start() : m.start("val")], text[m.end("val") : m.end()]
    quote = '\\"' if val[:2] == '\\"' else val[0]
    if quote in ('\\"', '"', "'") and len(val) >= 2 * len(quote) and val.endswith(quote):
        # A quoted value: always a value after "is" or "with", and after a password word; after
        # "token"/"secret" often a name or a parse error ("Unexpected token '<'", "secret
        # 'AzureSqlPassword' not found"), so there only when it looks random.
        inner = val[len(quote) : -len(quote)]
        if colon or not inner or inner == REDACTED:
            return whole  # after "password:" the key/value rule has decided
        if _CLOSES_STRING.match(inner):
            return whole  # '"Enter password ", "next"': the quote ends a string, opens none
        if weak and not m["verb"] and not _looks_random(inner) and not _with_before(m):
            return whole
        return f"{prefix}{quote}{REDACTED}{quote}{rest}"
    if not m["verb"] and not colon and not _with_before(m):
        return whole  # "password authentication failed", "token expired"
    core = val.rstrip(_TRAILING_PUNCT)
    if val[len(core) : len(core) + 1] == "]" and (core + "]").endswith(REDACTED):
        core += "]"  # the mask's own bracket is no punctuation after the value
    bare = core.lstrip("'([{<")
    if not bare or REDACTED in core or (m["word"] == "pwd" and bare[0] in "/~"):
        # Already redacted ("password is Password=[REDACTED]!": the key/value rule kept its
        # key); "pwd is /opt/airflow" names a directory.
        return whole
    if val[len(core) : len(core) + 1] == ":" and _SECRET_LABEL.fullmatch(bare.lower()):
        return whole  # "password is token: x": a key's label, its value the key/value rule's
    spans = [w.span() for w in _PLAIN_WORD.finditer(text, m.end("val"), m.end())]
    if core != val:
        spans = []  # "password is hunter, rotate it": the value ends at the comma
    more = [text[a:b] for a, b in spans]
    if not weak and (m["verb"] or colon):
        if _passphrase(bare, more, _CLAUSE_END.match(text, m.end()) is not None):
            return f"{prefix}{REDACTED}"
        if colon:
            return whole
    if _credential_like(bare):
        return f"{prefix}{REDACTED}{val[len(core) :]}{rest}"
    if len(bare) < 3:
        return whole
    if not m["verb"]:  # "with password x": often a compound ("with password management")
        if weak or _prose_value(bare, _NOUN_ENDINGS):
            return whole
    elif _prose_value(bare, _ENGLISH_ENDINGS if weak else _STATE_ENDINGS):
        return whole  # "password is incorrect", "token is from the wrong tenant"
    words = 0
    if m["verb"] and not weak and bare.isalpha():
        while words < len(more) and not _prose_value(more[words]):
            words += 1  # "the password is adventure time": the rest of a passphrase
    if words:
        return f"{prefix}{REDACTED}{text[spans[words - 1][1] : m.end()]}"
    return f"{prefix}{REDACTED}{val[len(core) :]}{rest}"


def _with_before(m: re.Match[str]) -> bool:
    folded = m.string
    return _WITH_BEFORE.search(folded, max(0, m.start() - 40), m.start()) is not None


# Order matters: structural rules (URL userinfo, headers, known formats) run before the generic
# key/value pass, and e-mail runs last so "user:pass@host.com" is not taken for an address.
_RULES: list[_Rule] = [
    _Rule(_URL_USERINFO, _keep_prefix_at, hints=("://", "@")),
    _Rule(
        _URL_USERINFO_ENCODED,
        _url_userinfo_encoded,
        fold=True,
        hints=("40",),
        any_hints=("%3a%2f%2f", "%253a%252f%252f"),
    ),
    _Rule(_ORACLE_THIN, _keep_prefix_at, hints=("jdbc:oracle:thin:",)),
    _Rule(_AUTH_HEADER, _auth_header, fold=True, hints=("authorization",)),
    _Rule(_DIGEST_RESPONSE, _keep_prefix, fold=True, hints=("digest",)),
    _Rule(_BEARER, _bearer, fold=True, any_hints=("bearer", "basic")),
    _Rule(_COOKIE_HEADER, _cookie, fold=True, hints=("cookie",)),
    _Rule(_AWS_KEY_PAIR, _aws_key_pair, any_hints=("AKIA", "ASIA")),
    *(_Rule(re.compile(p), REDACTED, any_hints=h) for h, p in _TOKEN_FORMATS),
    _Rule(
        # Incoming webhooks (services/), the response_url of interactions (actions/), and
        # Workflow Builder's webhook triggers (workflows/, triggers/).
        re.compile(
            r"(?P<pre>https://hooks\.slack\.com/(?:services|actions|workflows|triggers)/)"
            r"[A-Za-z0-9/]{10,255}"
        ),
        _keep_prefix,
        hints=("hooks.slack.com",),
    ),
    _Rule(
        _CHAT_WEBHOOK_URL,
        _keep_prefix,
        fold=True,
        hints=("://",),
        any_hints=("webhook.office.com", "outlook.office", "discord"),
    ),
    _Rule(
        _XML_SECRET_ELEMENT,
        _xml_secret_element,
        fold=True,
        hints=("</",),
        any_hints=("pass", "pwd", "secret", "token", "sig", "sas", "key"),
    ),
    # Its log lines are found by "<name>", read with the line after (_SPANNING_WORDS): a
    # property is written a line each for its name and its value.
    _Rule(_XML_PROPERTY, _xml_property, fold=True, hints=("<name>",)),
    _Rule(_HADOOP_AZURE_CREDENTIAL, _hadoop_credential, fold=True, hints=("fs.azure.",)),
    _Rule(
        _HADOOP_CLOUD_CREDENTIAL,
        _hadoop_credential,
        fold=True,
        any_hints=("fs.s3", "fs.gs."),
    ),
    _Rule(_SAS_CONN, _keep_prefix, fold=True, hints=("sharedaccesssignature",)),
    _Rule(_QUERY_CODE, _query_code, fold=True, any_hints=("?code=", "&code=", "&amp;code=")),
    _Rule(
        _QUERY_ENCODED,
        _query_encoded,
        fold=True,
        hints=("3d",),
        any_hints=("%3f", "%26", "%253f", "%2526"),
    ),
    # Every flag of _CLI_FLAG holds one of these words.
    _Rule(
        _CLI_FLAG,
        _cli_flag,
        fold=True,
        hints=("-",),
        any_hints=("pass", "pwd", "token", "secret", "key"),
    ),
    _Rule(_CURL_USER, _keep_prefix, fold=True, hints=("curl", "-")),
    _Rule(_SQLSERVER_PASSWORD, _command_password, hints=("-P",), any_hints=_SQLSERVER_HINTS),
    _Rule(
        _MYSQL_PASSWORD,
        _password_unless_port_mapping,
        hints=("-p",),
        any_hints=("mysql", "mariadb"),
    ),
    _Rule(_SSHPASS_PASSWORD, _command_password, hints=("sshpass", "-p")),
    _Rule(_LOGIN_PASSWORD, _command_password, hints=("login", "-p")),
    _Rule(
        _ORACLE_LOGON,
        _command_password,
        fold=True,
        hints=("/",),
        any_hints=_ORACLE_HINTS,
        starts=_oracle_tool_starts,
    ),
    _Rule(_ORACLE_USERID, _command_password, fold=True, hints=("userid", "/")),
    _Rule(_REDIS_CLI_PASSWORD, _command_password, hints=("redis-cli", "-a")),
    _Rule(
        _DB_SHELL_PASSWORD,
        _password_unless_port_mapping,  # docker run --name mongo -p 27017:27017 mongo
        hints=("-p",),
        any_hints=("mongo", "beeline", "hdbsql"),
    ),
    # "using" rather than "connect" finds its log lines (LineRedactor): fewer lines hold it.
    _Rule(_DB2_CONNECT, _db2_connect, fold=True, hints=("connect",), any_hints=("using",)),
    _Rule(_NETRC_PASSWORD, _command_password, fold=True, hints=("login", "password")),
    _Rule(_KUBECONFIG_KEY_DATA, _keep_prefix, fold=True, hints=("client-key-data",)),
    _Rule(_USER_INFO, _command_password, fold=True, hints=("auth.user.info",)),
    _Rule(_SQL_IDENTIFIED_BY, _sql_identified_by, fold=True, hints=("identified",)),
    _Rule(_SQL_PASSWORD_FUNCTION, _quoted_value, fold=True, hints=("password(",)),
    _Rule(_CLIENT_AUTH, _quoted_value, fold=True, hints=("auth",)),
    _Rule(
        _SECRET_SETTING_CALL,
        _secret_setting_call,
        fold=True,
        hints=("(",),
        any_hints=("option(", "config(", "set(", "put(", "setproperty("),
    ),
    # Every key of _KEY_CORE holds one of these words.
    _Rule(
        _KV,
        _kv,
        fold=True,
        any_hints=("pass", "pwd", "secret", "token", "sig", "sas", "key"),
        starts=_kv_starts,
    ),
    _Rule(
        _FOREIGN_KV,
        _kv,
        fold=True,
        any_hints=_FOREIGN_KV_KEY_WORDS,
        starts=_foreign_kv_starts,
    ),
    # Every word of _PROSE_SECRET holds one of these ("api key" its "key").
    _Rule(
        _PROSE_SECRET,
        _prose_secret,
        fold=True,
        any_hints=("pass", "pwd", "secret", "token", "key"),
        rescan=True,  # "invalid token password 'x'": the kept "token password" hides 'x'
    ),
    _Rule(_EMAIL, _email, hints=("@",)),
    _Rule(_EMAIL_ENCODED, REDACTED_EMAIL, hints=("%40",)),
]


# Which rules a text needs, found in one pass: an Aho-Corasick automaton finds every hint of
# every rule (ASCII-lowercased, overlapping ones included) in the folded text, and only the
# rules whose hints are there are applied (testing 34 rules' hints one by one was about two
# thirds of the cost of a webhook body's strings). A hint missing from the text as it came is
# missing after the rules before have masked parts of it: they only cut spans out and put a
# bracketed marker in their place, and no hint holds a bracket or is part of a marker (tested).
# The exact test (case, the text as the rules before left it) is still _apply's. The hints "-",
# "/" and "(", in nearly every text (the automaton would report each of their many places), are
# left to _apply alone.
_COMMON_HINTS = frozenset({"-", "/", "("})


def _folded_hints(rule: _Rule) -> tuple[frozenset[str], frozenset[str]]:
    """The rule's hints, all of which must be in the folded text, and its any_hints, one of
    which must."""
    every = frozenset(_fold(h) for h in rule.hints if h not in _COMMON_HINTS)
    return every, frozenset(_fold(h) for h in rule.any_hints)


_RULE_HINTS = [_folded_hints(rule) for rule in _RULES]
_HINT_FINDER = ahocorasick.Automaton()
for _hint in sorted({h for every, one in _RULE_HINTS for h in every | one}):
    _HINT_FINDER.add_word(_hint, _hint)
_HINT_FINDER.make_automaton()
_RULES_BY_HINT: dict[str, list[int]] = {}
for _index, (_every, _one) in enumerate(_RULE_HINTS):
    for _hint in _every | _one:
        _RULES_BY_HINT.setdefault(_hint, []).append(_index)
_UNHINTED = frozenset(i for i, (every, one) in enumerate(_RULE_HINTS) if not every and not one)
_UNHINTED_RULES = sorted(_UNHINTED)


def _candidate_rules(folded: str) -> list[int]:
    """The indexes, in order, of the rules whose hints (but "-") are in `folded`, a text's
    ASCII-lowercased form: all of its hints and one of its any_hints."""
    present = {hint for _, hint in _HINT_FINDER.iter(folded)}
    if not present:
        return _UNHINTED_RULES
    found = {i for hint in present for i in _RULES_BY_HINT[hint]} | _UNHINTED
    return [
        i
        for i in sorted(found)
        if _RULE_HINTS[i][0] <= present
        and (not _RULE_HINTS[i][1] or not _RULE_HINTS[i][1].isdisjoint(present))
    ]


def _apply(rule: _Rule, text: str, subject: str) -> str:
    """`rule` applied to `text`; `subject` is `text`, case-folded when the rule folds."""
    for h in rule.hints:  # plain loops: a generator per rule and text cost more than the test
        if h not in subject:
            return text
    if rule.any_hints:
        for h in rule.any_hints:
            if h in subject:
                break
        else:
            return text
    repl = rule.repl
    out: list[str] = []
    last = 0
    if rule.starts is not None:
        # As finditer (or the rescan below) would, trying only the positions a match may start at.
        pos = 0
        for start in rule.starts(subject):
            if start < pos or (m := rule.pattern.match(subject, start)) is None:
                continue
            new = repl if isinstance(repl, str) else repl(m, text)
            if rule.rescan and new == text[m.start() : m.end()]:
                pos = m.start() + 1
                continue
            out += [text[last : m.start()], new]
            last = pos = m.end()
        return "".join([*out, text[last:]]) if out else text
    if not rule.fold:
        return rule.pattern.sub(repl if isinstance(repl, str) else lambda m: repl(m, text), text)
    if rule.rescan:
        pos = 0
        while (m := rule.pattern.search(subject, pos)) is not None:
            new = repl if isinstance(repl, str) else repl(m, text)
            if new == text[m.start() : m.end()]:
                pos = m.start() + 1  # kept: what it spanned may still start a match
                continue
            out += [text[last : m.start()], new]
            last = pos = m.end()
        return "".join([*out, text[last:]]) if out else text
    for m in rule.pattern.finditer(subject):
        out += [text[last : m.start()], repl if isinstance(repl, str) else repl(m, text)]
        last = m.end()
    return "".join([*out, text[last:]]) if out else text


# An ingest redacts the same strings twice (the inbox copy of the body, then the event parsed
# from it), so results for short texts are remembered; redaction is a pure function of the text.
_MEMO_MAX_CHARS = 2048


def redact(text: str) -> str:
    """Return ``text`` with every recognised secret replaced by ``[REDACTED]``."""
    if not text:
        return text
    if len(text) <= _MEMO_MAX_CHARS:
        return _redact_remembered(text)
    return _redact(text)


def redacted_head(text: str, limit: int, ending: str = "") -> str:
    """The start of `text` in at most `limit` characters, `ending` marking a cut. A text that
    fits comes back as it is (its caller redacts it with the rest); a longer one is redacted
    before it is cut, since a cut inside a secret can leave a start no rule knows as one (a
    URL's `user:password` before its `@host`)."""
    if len(text) <= limit:
        return text
    text = redact(text)
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ending), 0)] + ending


@functools.lru_cache(maxsize=4096)
def _redact_remembered(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    text = _redact_pem(text)
    first = _fold(text)
    folded: str | None = first  # the case-folded text, made again once a rule changes it
    for index in _candidate_rules(first):
        rule = _RULES[index]
        if rule.fold and folded is None:
            folded = _fold(text)
        changed = _apply(rule, text, folded if rule.fold and folded is not None else text)
        if changed is not text:
            text, folded = changed, None
    return text


# --- structured data ----------------------------------------------------------------------------
_KEY_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "token",
        "sig",
        "signature",
        "authorization",
        "auth",
        "credential",
        "credentials",
        "cookie",
        "apikey",
        "accesskey",
        "accountkey",
        "secretkey",
        "privatekey",
        "clientsecret",
        "connectionstring",
        "connstr",
        "sas",
        "sastoken",
    }
)
_KEY_QUALIFIERS = frozenset(
    {"api", "access", "account", "secret", "private", "master", "subscription", "storage"}
    | {"shared", "sas", "signing", "client", "encryption", "auth", "app", "function", "functions"}
    # Airflow's fernet_key ([core] fernet_key, AIRFLOW__CORE__FERNET_KEY) decrypts every
    # connection's password and variable its database holds.
    | {"principal", "fernet"}
)
# Words a key written in one lowercase word ends with, as _KV's long key words may carry any
# prefix in text: `adminpassword`, `webhooksecret`, `accesstoken`.
_SECRET_ENDINGS = ("password", "passwd", "passphrase", "secret", "token", "apikey")
# Trailing words that still denote the secret itself: password_hash, secret_value, token_b64.
_SECRET_SUFFIXES = frozenset(
    {"value", "hash", "b64", "base64", "raw", "plain", "enc", "text", "content"}
)


def is_secret_key(name: str) -> bool:
    """True for key names that denote a credential (``db_password``, ``AccountKey``,
    ``X-Api-Key``, ``connectionString``) but not for metadata about one (``token_type``,
    ``password_expired``, ``secretName``, ``max_tokens``)."""
    if len(name) <= _KEY_MEMO_MAX_CHARS:
        return _is_secret_key_remembered(name)
    return _is_secret_key(name)


# A sender's bodies repeat the same key names, so the answers for short ones are remembered.
_KEY_MEMO_MAX_CHARS = 128


@functools.lru_cache(maxsize=4096)
def _is_secret_key_remembered(name: str) -> bool:
    return _is_secret_key(name)


# A password's name in other languages written in ASCII letters (German, Dutch, Portuguese,
# Spanish, Swedish, Polish and Turkish without their diacritics, Norwegian, Danish, Finnish,
# Czech, Romanian and Italian). Compared whole with a key's last word, as the English ones are;
# French's mot_de_passe is its last two.
_FOREIGN_SECRET_WORDS = frozenset(
    {"passwort", "kennwort", "wachtwoord", "senha", "contrasena", "losenord", "passord"}
    | {"adgangskode", "salasana", "haslo", "heslo", "sifre", "parol", "parola"}
)
# The same with letters beyond ASCII, matched at the end of a key's last word (Chinese and
# Japanese do not separate words: 数据库密码 is "database password").
_FOREIGN_SECRET_ENDINGS = (
    "пароль",
    "пароля",
    "contraseña",
    "hasło",
    "şifre",
    "lösenord",
    "密码",
    "密碼",
    "口令",
    "パスワード",
    "暗証番号",
    "비밀번호",
    "암호",
)
_FOREIGN_WORD = re.compile(r"[^\W\d_]+")
# Letters of other scripts drawn like Latin ones (Unicode's confusables, the ones that pass for
# a lowercase or capital Latin letter in a key name): a key's skeleton reads "password" spelt
# with a Cyrillic "a" (U+0430) as "password". Only the key name is read so, never a value.
_LATIN_LOOK_ALIKES = str.maketrans(
    "аеорсхуіјѕԁһӏԛԝɑοαρεικνυτχАВЕКМНОРСТХЅІЈԜΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcxyijsdhlqwaoapeikvutxABEKMHOPCTXSIJWABEZHIKMNOPTYX",
)


# Format characters a key may hold unseen: zero-width space, joiners, soft hyphen, word joiner,
# byte order mark, bidirectional marks.
_INVISIBLE_RANGES = (range(0x200B, 0x2010), range(0x202A, 0x202F), range(0x2060, 0x206A))
_INVISIBLE = dict.fromkeys([0x00AD, 0x180E, 0xFEFF, *(c for r in _INVISIBLE_RANGES for c in r)])


def _is_secret_key(name: str) -> bool:
    if not name.isascii():
        # Compatibility forms read as the letters they stand for (a full-width "password",
        # a ligature, a superscript), without the invisible characters that would split a word
        # ("pass\u200bword"); look-alikes of other scripts as the Latin letters they pass for.
        name = unicodedata.normalize("NFKC", name).translate(_INVISIBLE)
        if _has_foreign_secret_name(name):
            return True
        name = name.translate(_LATIN_LOOK_ALIKES)
    words = [w.lower() for w in _KEY_WORDS.findall(name)]
    while len(words) > 1 and words[-1] in _SECRET_SUFFIXES:
        words.pop()
    if not words:
        return False
    last = words[-1]
    prev = words[-2] if len(words) > 1 else ""
    if last in _SECRET_WORDS or last in _FOREIGN_SECRET_WORDS or last.endswith(_SECRET_ENDINGS):
        return True
    if last == "passe" and prev == "de":  # mot_de_passe, motDePasse
        return True
    if last == "key":
        return prev in _KEY_QUALIFIERS
    return last in {"string", "str"} and prev in {"connection", "conn"}


def _has_foreign_secret_name(name: str) -> bool:
    words = _FOREIGN_WORD.findall(name.lower())
    while len(words) > 1 and words[-1] in _SECRET_SUFFIXES:
        words.pop()
    return bool(words) and words[-1].endswith(_FOREIGN_SECRET_ENDINGS)


# How a client authenticates, as an "auth" setting names it (Spark's and Hive's .option("auth",
# "kerberos"), a connection's {"auth": "ldap"}): a method, no credential.
_AUTH_MECHANISMS = frozenset(
    {"kerberos", "gssapi", "ldap", "sasl", "nosasl", "plain", "none", "basic", "digest", "ntlm"}
    | {"negotiate", "oauth", "oauth2", "jwt", "token", "custom", "pam", "password", "cert"}
    | {"certificate", "msi", "managed_identity", "aad", "iam", "scram-sha-256", "scram-sha-512"}
)


def names_an_auth_mechanism(key: str, value: Any) -> bool:
    """True when `key` is an "auth" setting (``auth``, ``spark.auth``) and `value` names a way
    to authenticate (``kerberos``, ``ldap``, ``none``) rather than being a credential."""
    words = _KEY_WORDS.findall(key)
    return (
        bool(words)
        and words[-1].lower() == "auth"
        and isinstance(value, str)
        and value.lower() in _AUTH_MECHANISMS
    )


# Azure activity-log alerts carry ``"authorization": {"action": ..., "scope": ...}`` (RBAC
# metadata, no credential); under these names only a scalar value is a secret.
_METADATA_CAPABLE_KEYS = frozenset({"authorization", "auth"})


# A Data Factory linked service names a secret it reads from Key Vault where the secret would go
# (`"password": {"type": "AzureKeyVaultSecret", "store": {"referenceName": "kv_ls", "type":
# "LinkedServiceReference"}, "secretName": "sql-password"}`): which secret of which vault is no
# credential, and tells on-call what to rotate. These members are kept (redacted as any value
# is); any other member of such an object is wiped, as the object was whole before.
_KEY_VAULT_REFERENCE_TYPE = "azurekeyvaultsecret"
_KEY_VAULT_REFERENCE_MEMBERS = frozenset({"type", "store", "secretName", "secretVersion"})


def _is_key_vault_reference(value: Any) -> bool:
    kind = value.get("type") if isinstance(value, dict) else None
    return isinstance(kind, str) and kind.lower() == _KEY_VAULT_REFERENCE_TYPE


def _key_vault_reference(reference: dict[Any, Any]) -> dict[Any, Any]:
    kept: dict[Any, Any] = {}
    for k, v in reference.items():
        if k in _KEY_VAULT_REFERENCE_MEMBERS:
            kept[k] = redact_data(v)
        else:  # as `_wipe` leaves what carries no secret
            kept[k] = v if v is None or v == "" or isinstance(v, bool) else REDACTED
    return kept


def _wipe(key: str, v: Any, secret_named: bool) -> bool:
    # None/""/booleans carry no secret but tell the reader the credential was missing.
    if v is None or v == "" or isinstance(v, bool) or not secret_named:
        return False
    if names_an_auth_mechanism(key, v):
        return False
    return not (isinstance(v, dict | list) and key.lower() in _METADATA_CAPABLE_KEYS)


def redact_data(value: Any) -> Any:
    """Recursively redact strings in dicts/lists/tuples, keys included (a sender may key what
    it saw by the connection string it used); values of secret-named keys are replaced
    wholesale, but for a Key Vault reference's members naming its secret
    (`_key_vault_reference`). Keys that redact to the same text (two e-mail addresses, two
    connection strings differing in their password) are all kept: each redacted key after the
    first, or one taking the text of a key kept as it came, gets a counter (`_distinct_key`)."""
    if isinstance(value, str):
        return _redact_json_text(value) or redact(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if isinstance(k, str):
                shown, secret_named = (
                    _key_facts(k) if len(k) <= _KEY_MEMO_MAX_CHARS else _read_key(k)
                )
                if shown != k and (shown in out or shown in value):
                    shown = _distinct_key(shown, out, value)
                if not _wipe(k, v, secret_named):
                    out[shown] = redact_data(v)
                elif _is_key_vault_reference(v):
                    out[shown] = _key_vault_reference(v)
                else:
                    out[shown] = REDACTED
            else:
                out[k] = redact_data(v)
        return out
    if isinstance(value, list):
        return [redact_data(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_data(v) for v in value)
    return value


def _redact_json_text(text: str) -> str | None:
    """A JSON object kept as a text string that holds a Key Vault reference (a linked
    service's definition a sender passes on as text), redacted as the structure it is, so the
    reference keeps the members naming its secret as it does when sent as an object; written
    back by ``json.dumps`` (its spacing may differ). None for any other text, and for one too
    large or too deeply nested to parse here."""
    if (
        not text.lstrip().startswith("{")
        or len(text) > _JSON_TEXT_MAX_CHARS
        or _KEY_VAULT_REFERENCE_TYPE not in _fold(text)
    ):
        return None
    try:
        parsed = json.loads(text)
        return (
            json.dumps(redact_data(parsed), ensure_ascii=False)
            if isinstance(parsed, dict)
            else None
        )
    except (ValueError, RecursionError):
        return None


_JSON_TEXT_MAX_CHARS = 100_000


def _distinct_key(shown: str, out: dict[Any, Any], given: dict[Any, Any]) -> str:
    """A redacted key that another key of its object already shows as, or that a key of it
    kept as it came will show as: "[REDACTED_EMAIL] (2)", "(3)"… the first free one."""
    count = 2
    while (numbered := f"{shown} ({count})") in out or numbered in given:
        count += 1
    return numbered


@functools.lru_cache(maxsize=4096)
def _key_facts(name: str) -> tuple[str, bool]:
    return _read_key(name)


def _read_key(name: str) -> tuple[str, bool]:
    """A key as `redact` leaves it, and whether it names a credential. A key holding none of
    the rules' triggers (`_LINE_TRIGGERS`: nearly every key, `runId`, `error_message`) cannot
    change, so the rules are not run on it, nor is it kept in `redact`'s memo of values."""
    folded = _fold(name)
    shown = redact(name) if next(_TRIGGER_FINDER.iter(folded), None) is not None else name
    return shown, _is_secret_key(name)


# --- many lines at once (logs) --------------------------------------------------------------
# A line that redact() can change holds the hints of a rule it applies (_candidate_rules): one of
# the rule's any_hints, or, for a rule without them, each of its hints. So these triggers, one
# set per rule taken from its hints, are in every such line but for a PEM key's (its body lines
# are _pem's). A trigger holding another is left out: a line with it holds the other.


def _line_triggers() -> tuple[str, ...]:
    triggers = {"private key"}
    for every, one in _RULE_HINTS:
        if not every and not one:
            raise ValueError("a redaction rule has no hint to find its log lines by")
        triggers |= one or {max(every, key=len)}
    return tuple(sorted(t for t in triggers if not any(o != t and o in t for o in triggers)))


_LINE_TRIGGERS = _line_triggers()
# All of them found in one pass over a batch (a str.find per trigger was most of the cost of a
# log's redaction).
_TRIGGER_FINDER = ahocorasick.Automaton()
for _trigger in _LINE_TRIGGERS:
    _TRIGGER_FINDER.add_word(_trigger, len(_trigger))
_TRIGGER_FINDER.make_automaton()


_PEM_BODY_LINE = re.compile(r"[A-Za-z0-9+/=]{1,100}")


# A line holding one of these words goes through the rules with the lines around it (within its
# batch, not across a blank line): a CREATE USER … IDENTIFIED BY statement, its password on the
# next line, a .netrc entry written a token a line, or a Hadoop XML property (its <name> line,
# then its <value> line) spans them.
_SPANNING_WORDS = ("identified", "password", "<name>")
_SPANNED_BEFORE = 3
_SPANNED_AFTER = 1
# How far a line's redaction reaches over the lines around it: a statement's password is read
# with the line before it (its IDENTIFIED BY) and that one with _SPANNED_BEFORE lines before
# it (its CREATE USER). A reader that cuts a stream into batches overlaps them by twice this,
# so a line at a batch's end is also read with the lines after it (``redacted_lines``).
CONTEXT_LINES = _SPANNED_BEFORE + _SPANNED_AFTER


def _neighbours(lines: list[str], index: int) -> set[int]:
    """The lines before and after `index` read with it, up to a blank line."""
    near: set[int] = set()
    for step, count in ((-1, _SPANNED_BEFORE), (1, _SPANNED_AFTER)):
        other = index + step
        while 0 <= other < len(lines) and abs(other - index) <= count and lines[other].strip():
            near.add(other)
            other += step
    return near


def _separators(runs: list[list[int]]) -> list[int]:
    """The positions of the blank lines between `runs` once they are joined."""
    positions: list[int] = []
    position = 0
    for run in runs[:-1]:
        position += len(run)
        positions.append(position)
        position += 1
    return positions


def _runs(indexes: list[int]) -> list[list[int]]:
    """Sorted `indexes` cut into runs of consecutive ones."""
    runs: list[list[int]] = []
    for index in indexes:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


@dataclass
class LineRedactor:
    """``redact`` applied to each line of a stream given in batches, much faster for
    log-sized inputs: lines are searched for the rules' trigger substrings (all in one pass)
    and only lines holding one go through the rules (as one text, then split again), with the
    lines around those holding a word of `_SPANNING_WORDS`. Lines that are not next to each
    other are joined by a blank line, which no rule reads across.

    A PEM private key spans lines whose body lines hold no trigger: from a BEGIN line to its
    END line (across batches too) every body line becomes ``[REDACTED]``.

    The caller gives the last `held` lines of a batch again at the head of the next one: the
    redactor's state (a PEM block begun) is left as it was before them, so the next batch
    reads them afresh. ``analysis.logs.mining.redacted_lines`` takes the first half of them
    from this batch and the rest from the next, each with the lines around it."""

    in_pem: bool = False

    def redact(self, lines: list[str], held: int = 0) -> list[str]:
        if not lines:
            return lines
        out = list(lines)
        text = "\n".join(lines)
        folded = _fold(text)
        starts: list[int] = []
        offset = 0
        for line in lines:
            starts.append(offset)
            offset += len(line) + 1
        flagged: set[int] = set()
        next_line = 0  # where the line after the last one flagged starts
        for end, length in _TRIGGER_FINDER.iter(folded):
            if end < next_line:
                continue  # its line is flagged already
            index = bisect.bisect_right(starts, end - length + 1) - 1
            flagged.add(index)
            next_line = starts[index + 1] if index + 1 < len(starts) else len(folded)
        pem_lines = self._pem(out, flagged, len(lines) - held)
        chosen = flagged - pem_lines
        for index in sorted(chosen):
            line = folded[starts[index] : starts[index] + len(lines[index])]
            if any(word in line for word in _SPANNING_WORDS):
                chosen |= _neighbours(lines, index) - pem_lines
        if chosen:
            self._redact_runs(out, lines, _runs(sorted(chosen)))
        return out

    @staticmethod
    def _redact_runs(out: list[str], lines: list[str], runs: list[list[int]]) -> None:
        texts = ["\n".join(lines[i] for i in run) for run in runs]
        redacted = redact("\n\n".join(texts)).split("\n")
        if len(redacted) != sum(len(run) + 1 for run in runs) - 1 or any(
            redacted[i] for i in _separators(runs)
        ):
            redacted = []
            for run, run_text in zip(runs, texts, strict=True):
                run_lines = redact(run_text).split("\n")
                if len(run_lines) != len(run):
                    run_lines = [redact(lines[i]) for i in run]
                redacted += [*run_lines, ""]
        position = 0
        for run in runs:
            for index in run:
                out[index] = redacted[position]
                position += 1
            position += 1  # the blank line between runs

    def _pem(self, out: list[str], flagged: set[int], held_from: int) -> set[int]:
        """Redact PEM blocks in place; the indexes of the lines it handled. The state is left
        as it was before line `held_from` (the first held one)."""
        handled: set[int] = set()
        if not self.in_pem and not any("PRIVATE KEY" in out[i] for i in flagged):
            return handled
        state_before_held = self.in_pem
        for index, line in enumerate(out):
            if index == held_from:
                state_before_held = self.in_pem
            if self.in_pem:
                if _PEM_END.search(line):
                    self.in_pem = False
                    handled.add(index)
                elif _PEM_BODY_LINE.fullmatch(line.strip()):
                    out[index] = REDACTED
                    handled.add(index)
                else:
                    self.in_pem = False  # not a key body any more
            if not self.in_pem and _PEM_BEGIN.search(line) and not _PEM_END.search(line):
                out[index] = redact(line)
                self.in_pem = True
                handled.add(index)
        if held_from < len(out):
            self.in_pem = state_before_held
        return handled
