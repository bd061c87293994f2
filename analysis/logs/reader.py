"""Streaming log reader: plain text, gzip and zip, line by line, within limits.

A log is never read whole into memory: files are decoded through fixed-size buffers and yielded
one line at a time. Limits bound the work a single job can cause, counted on the *decompressed*
text so a small archive cannot expand into gigabytes (a zip or gzip bomb stops at the limit).
Every limit that is crossed raises ``LogLimitExceeded`` naming the limit, the file and the line,
except the line length: a longer line (a wide ``df.show()``, a printed config, a minified JSON
payload) is cut to its start and its end around a marker saying how much was left out, while it
is read, so it takes little more memory than the limit (a file's first line that opens with
``{`` or ``[``: ``max_document_chars``), and the lines cut are counted.
No Django import.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from analysis.redaction import redact

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
CHUNK_BYTES = 256 * 1024
# A NUL byte in the first block means this is not a text log (an image, a parquet file, ...).
SNIFF_BYTES = 8 * 1024
_NOT_TEXT = frozenset({"Cc", "Co", "Cn", "Cs"})  # Unicode categories text does not use
# A terminal's colour and cursor codes (CSI sequences), which a log written to a console holds.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# The error handler of the UTF-8 decoder: a byte that is not UTF-8 is read as Windows-1252 (Latin-1
# where that has no character), the encoding of older Windows and Java tools' logs.
_SINGLE_BYTE_FALLBACK = "rca-log-windows-1252"
# A file's first line that opens with { or [ may be this long before it is cut, so that a JSON
# document on one line (ADF activity output, a Databricks runs/get-output answer) is read whole
# and ``formats.expand_json_documents`` can read it as one.
DOCUMENT_MAX_CHARS = 5 * 1024 * 1024
# Of a line being cut, the characters held before the end it keeps: whether that end starts
# within an escape sequence (after an odd run of backslashes) is read from them.
ESCAPE_LOOK_BACK = 8
# Of a line being cut, the characters held before the end it keeps so that the end never starts
# with the rest of a secret whose key was cut off ("...assword=hunter2"): redacted with them, the
# end's first characters are dropped where they differ (most values redaction reads are bounded
# at 4 KiB).
SECRET_LOOK_BACK = 8 * 1024
# A cut line's start ending with the first of an escaped surrogate pair, and its end starting
# with the rest of one (hex digits left of the first, then the second).
_HIGH_SURROGATE_END = re.compile(r"(?<!\\)(?:\\\\)*(\\u[dD][89abAB][0-9a-fA-F]{2})\Z")
_LOW_SURROGATE_START = re.compile(r"\A[0-9a-fA-F]{0,4}\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _windows_1252(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in bad), exc.end


codecs.register_error(_SINGLE_BYTE_FALLBACK, _windows_1252)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ReadLimits:
    max_bytes: int = 100 * 1024 * 1024  # decompressed text of all files of one job
    max_lines: int = 5_000_000
    max_line_chars: int = 64 * 1024
    max_files: int = 20  # files of one job, zip members included
    max_document_chars: int = DOCUMENT_MAX_CHARS  # a file's first line opening with { or [


@dataclass(frozen=True)
class LogLine:
    file: str  # the name shown in reports (an upload's name, or "archive.zip/member.log")
    number: int  # 1-based, within its file
    text: str  # without the line ending


class LogReadError(ValueError):
    """The input cannot be read as a text log (corrupt archive, binary data)."""


class LogLimitExceeded(LogReadError):
    """The input is larger than a limit allows; the message names the limit and where."""


@dataclass(frozen=True)
class LogSource:
    """One input: a file on disk and the name it is reported under."""

    path: Path
    name: str

    @property
    def size(self) -> int:
        return self.path.stat().st_size


class LogReader:
    """Reads every line of several sources in order, counting against one set of limits.

    ``bytes_consumed`` (compressed bytes taken from disk so far) against ``total_input_bytes``
    is the reading progress the caller can report.
    """

    def __init__(self, sources: list[LogSource], limits: ReadLimits | None = None) -> None:
        self.sources = sources
        self.limits = limits or ReadLimits()
        self.total_input_bytes = sum(source.size for source in sources)
        self.bytes_consumed = 0
        self.text_bytes = 0
        self.lines = 0
        self.lines_cut = 0
        self.files_read: list[str] = []
        self._current: tuple[IO[bytes], int] | None = None  # the open file, bytes before it

    def __iter__(self) -> Iterator[LogLine]:
        if len(self.sources) > self.limits.max_files:
            raise LogLimitExceeded(
                f"too many files: {len(self.sources)} (limit {self.limits.max_files})"
            )
        for source in self.sources:
            done_before = self.bytes_consumed
            with source.path.open("rb") as raw:
                self._current = (raw, done_before)
                yield from self._read_container(raw, source.name)
            self.bytes_consumed = done_before + source.size

    def _read_container(self, raw: io.BufferedReader, name: str) -> Iterator[LogLine]:
        head = raw.peek(4)[:4]
        if head.startswith(ZIP_MAGIC):
            yield from self._read_zip(raw, name)
        elif head.startswith(GZIP_MAGIC):
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                    yield from self._read_text(unzipped, name.removesuffix(".gz"))
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise LogReadError(f"{name}: not a readable gzip file ({exc})") from exc
        else:
            yield from self._read_text(raw, name)

    def _read_zip(self, raw: io.BufferedReader, name: str) -> Iterator[LogLine]:
        try:
            archive = zipfile.ZipFile(raw)
        except zipfile.BadZipFile as exc:
            raise LogReadError(f"{name}: not a readable zip file ({exc})") from exc
        with archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(self.files_read) + len(members) > self.limits.max_files:
                raise LogLimitExceeded(
                    f"{name}: too many files in the archive ({len(members)}; "
                    f"limit {self.limits.max_files} per job)"
                )
            for member in members:
                try:
                    with archive.open(member) as stream:
                        inner: _Readable = stream
                        member_name = f"{name}/{member.filename}"
                        if member.filename.endswith(".gz"):
                            inner = gzip.GzipFile(fileobj=stream, mode="rb")
                            member_name = member_name.removesuffix(".gz")
                        yield from self._read_text(inner, member_name)
                except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                    # RuntimeError: an encrypted member; the others: a corrupt one.
                    raise LogReadError(f"{name}: cannot read {member.filename} ({exc})") from exc

    def _read_text(self, stream: _Readable, name: str) -> Iterator[LogLine]:
        self.files_read.append(name)
        limits = self.limits
        decoder: codecs.IncrementalDecoder = codecs.getincrementaldecoder("utf-8")(
            errors=_SINGLE_BYTE_FALLBACK
        )
        pending = ""
        number = 0
        first = True
        # The start of the line being read once it is longer than allowed, and how many of its
        # characters were dropped since: the rest is held in ``pending``, its end only.
        cut_head: str | None = None
        dropped = 0
        while True:
            block = stream.read(CHUNK_BYTES)
            if first:
                first = False
                if is_binary(block):
                    raise LogReadError(f"{name}: binary data, not a text log")
                encoding, bom = _encoding(block)
                block = block[len(bom) :]
                if encoding != "utf-8":
                    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
            if not block:
                break
            self.text_bytes += len(block)
            if self._current is not None:
                raw, before = self._current
                self.bytes_consumed = before + raw.tell()
            if self.text_bytes > limits.max_bytes:
                raise LogLimitExceeded(
                    f"{name}: the logs exceed {human_size(limits.max_bytes)} of text "
                    f"(after line {number}); analyse a smaller part of the log"
                )
            pending += decoder.decode(block)
            lines = pending.split("\n")
            pending = lines.pop()
            for text in lines:
                number += 1
                if cut_head is not None:
                    text = self._join_cut(cut_head, dropped, text)
                    cut_head, dropped = None, 0
                yield self._line(name, number, text)
            if len(pending) > self._allowed_chars(number, cut_head, pending):
                keep = self._kept_chars()
                if cut_head is None:
                    cut_head, pending = pending[:keep], pending[keep:]
                held = keep + SECRET_LOOK_BACK
                dropped += max(0, len(pending) - held)
                pending = pending[-held:]
        pending += decoder.decode(b"", final=True)
        if pending or cut_head is not None:
            number += 1
            if cut_head is not None:
                pending = self._join_cut(cut_head, dropped, pending)
            yield self._line(name, number, pending)

    def _allowed_chars(self, number: int, cut_head: str | None, pending: str) -> int:
        """How long the line being read may grow before it is cut: a file's first line that
        opens with ``{`` or ``[`` up to ``max_document_chars``, any other up to
        ``max_line_chars``."""
        if number == 0 and cut_head is None and pending.lstrip()[:1] in ("{", "["):
            return max(self.limits.max_document_chars, self.limits.max_line_chars)
        return self.limits.max_line_chars

    def _kept_chars(self) -> int:
        """Of a line that is cut, the characters kept of its start, and of its end."""
        return max(1, (self.limits.max_line_chars - len(cut_marker(10**12))) // 2)

    def _join_cut(self, head: str, dropped: int, rest: str) -> str:
        """The line cut: ``head``, the marker, the end of ``rest``. Neither end keeps part of an
        escape sequence or of an escaped surrogate pair, so a cut inside a JSON string leaves
        valid JSON that parses to valid text (a one-line document longer than
        ``max_document_chars`` whose middle is one long string, a Databricks answer's ``logs``,
        is still read as that document)."""
        keep = self._kept_chars()
        start = head.rfind("\\", max(0, len(head) - 6))
        if start >= 0:
            while start > 0 and head[start - 1] == "\\":
                start -= 1
            dropped += len(head) - start
            head = head[:start]
        # Half of an escaped surrogate pair ("\ud83d" of an emoji's "\ud83d\ude80") parses
        # to a lone surrogate, which no UTF-8 text holds (the analysis failed on it).
        paired = _HIGH_SURROGATE_END.search(head)
        if paired:
            dropped += len(head) - paired.start(1)
            head = head[: paired.start(1)]
        tail = rest[-keep:]
        before = rest[-keep - SECRET_LOOK_BACK : -keep] if len(rest) > keep else ""
        tail, before = _clear_of_cut_secrets(before, tail)
        before = before[-ESCAPE_LOOK_BACK:]
        end = tail.lstrip("\\")
        escaped = len(before) - len(before.rstrip("\\")) + len(tail) - len(end)
        if escaped % 2:  # the first character left is the escaped one of "\n", "\"", ...
            end = end[1:]
        end = _LOW_SURROGATE_START.sub("", end, count=1)
        dropped += len(rest) - len(end)
        self.lines_cut += 1
        return head + cut_marker(dropped) + end

    def _line(self, name: str, number: int, text: str) -> LogLine:
        if len(text) > self.limits.max_line_chars and not (
            number == 1 and len(text) <= self._allowed_chars(0, None, text)
        ):
            keep = self._kept_chars()
            text = self._join_cut(text[:keep], 0, text[keep:])
        self.lines += 1
        if self.lines > self.limits.max_lines:
            raise LogLimitExceeded(
                f"{name}: more than {self.limits.max_lines:,} lines in all (at line {number})"
            )
        text = text.removesuffix("\r")
        if "\x1b" in text:
            text = ANSI_ESCAPE.sub("", text)
        return LogLine(name, number, text)


def _clear_of_cut_secrets(before: str, tail: str) -> tuple[str, str]:
    """``tail`` without the start of it that is part of a secret whose key (or start) is in
    ``before``, the characters cut off with the line's middle, and what stands before it
    then. Read alone, "assword=hunter2" or the value after a cut '"client_secret": ' is no
    secret to ``redact``; read after ``before`` it is: the tail is kept from where the two
    readings agree (redacted, as the whole line will be)."""
    if not before:
        return tail, before
    alone = redact(tail)
    read_after = redact(before + tail)
    if read_after.endswith(alone):
        return tail, before
    agree = 0
    while agree < len(alone) and alone[-1 - agree] == read_after[-1 - agree]:
        agree += 1
    return alone[len(alone) - agree :], alone[: len(alone) - agree]


def cut_marker(dropped: int) -> str:
    """What stands in a cut line for the characters left out of its middle."""
    return f" … [{dropped:,} characters cut] … "


def is_container(head: bytes) -> bool:
    """A gzip or zip file (by its magic bytes): its text is judged once it is unpacked."""
    return head.startswith((GZIP_MAGIC, ZIP_MAGIC))


def is_binary(head: bytes) -> bool:
    """Whether a file's first block (``head``: its first ``SNIFF_BYTES`` or more, or all of a
    shorter file) fails the text test the reader applies: after any byte-order mark, a NUL byte
    in UTF-8; in UTF-16 (a mark, or without one the NUL bytes ``_unmarked_utf16`` looks for),
    decoded characters text does not hold."""
    encoding, bom = _encoding(head)
    sniff = head[len(bom) : len(bom) + SNIFF_BYTES]
    if encoding == "utf-8":
        return b"\x00" in sniff
    return _looks_binary(codecs.getincrementaldecoder(encoding)(errors="replace").decode(sniff))


def _encoding(head: bytes) -> tuple[str, bytes]:
    """The encoding a byte-order mark names (Windows tools write UTF-16 LE with one), and the
    mark; without one, UTF-16 when its NUL bytes say so (``_unmarked_utf16``), else UTF-8."""
    for encoding, bom in (
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
    ):
        if head.startswith(bom):
            return encoding, bom
    return _unmarked_utf16(head[:SNIFF_BYTES]) or "utf-8", b""


def _unmarked_utf16(sniff: bytes) -> str | None:
    """UTF-16 written without a byte-order mark (.NET's ``Encoding.Unicode``, some Windows
    services and exports): a log's characters are mostly ASCII, each one byte beside a NUL, so
    at least half the odd bytes (little-endian) or the even ones (big-endian) are NUL and
    hardly any of the others. Binary data that passes is still judged on the characters it
    decodes to (``is_binary``)."""
    pairs = len(sniff) // 2
    if pairs < 2:
        return None
    even, odd = sniff[0 : pairs * 2 : 2].count(0), sniff[1 : pairs * 2 : 2].count(0)
    for encoding, nul_half, other_half in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nul_half * 2 >= pairs and other_half * 50 <= pairs:
            return encoding
    return None


def _looks_binary(text: str) -> bool:
    """A NUL character, or more than 1 in 20 characters that text does not hold (control
    characters, private-use or unassigned code points, undecodable bytes): binary data behind
    a byte-order mark. Random bytes read as UTF-16 give about 1 in 7."""
    if "\x00" in text:
        return True
    odd = sum(
        1
        for c in text
        if c == "\ufffd" or (unicodedata.category(c) in _NOT_TEXT and c not in "\t\n\r\f\v")
    )
    return odd * 20 > len(text)


def human_size(n: float) -> str:
    """A byte count as people write it: ``900 bytes``, ``2 KB``, ``2.9 MB``, ``100 MB``, ``1.5 GB``
    (binary units, at most one decimal, none when it is 0)."""
    if round(n) < 1024:
        return f"{n:,.0f} bytes"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if round(n, 1) < 1024 or unit == "GB":
            break
    return f"{n:,.1f}".removesuffix(".0") + f" {unit}"
