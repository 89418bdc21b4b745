"""What a file really is, decided from its bytes (magic numbers and container structure), and the name
it is kept under.

An allowlist of what practitioners attach to a record (a profile, a case): PDF; PNG, JPEG, GIF, WebP; Word, Excel and
PowerPoint (OOXML and legacy OLE2), Outlook .msg; OpenDocument text/spreadsheet/presentation; RTF;
e-mail (.eml); plain UTF-8 text. Anything else is refused, as is an Office file carrying macros.
The declared Content-Type and the file name's extension must agree with what the bytes are.

No third-party library: a table of signatures plus a look inside the two container formats (zip for
OOXML/OpenDocument, the OLE2 compound file for legacy Office), which is where the real type lives.
"""
import io
import mimetypes
import re
import struct
import unicodedata
import zipfile
from dataclasses import dataclass


class Unacceptable(ValueError):
    """The bytes are not a type we accept (the message says so in plain words)."""


class Mislabelled(ValueError):
    """The declared type or the name's extension says something other than the bytes."""


@dataclass(frozen=True)
class FileType:
    mime: str
    label: str                       # in plain words, for messages
    extensions: tuple                # first one is canonical
    aliases: frozenset = frozenset()  # other Content-Types that honestly describe it
    image: bool = False

    @property
    def extension(self) -> str:
        return self.extensions[0]

    def declared_ok(self, declared: str) -> bool:
        return declared == self.mime or declared in self.aliases


_ZIP = frozenset({"application/zip", "application/x-zip-compressed"})
_OLE = frozenset({"application/x-ole-storage", "application/cdfv2", "application/x-cfb"})

PDF = FileType("application/pdf", "a PDF document", ("pdf",), frozenset({"application/x-pdf"}))
PNG = FileType("image/png", "a PNG image", ("png",), image=True)
JPEG = FileType("image/jpeg", "a JPEG image", ("jpg", "jpeg", "jpe", "jfif"),
                frozenset({"image/jpg", "image/pjpeg"}), image=True)
GIF = FileType("image/gif", "a GIF image", ("gif",), image=True)
WEBP = FileType("image/webp", "a WebP image", ("webp",), image=True)
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a Word document",
                ("docx",), _ZIP)
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "an Excel workbook",
                ("xlsx",), _ZIP)
PPTX = FileType("application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "a PowerPoint presentation", ("pptx",), _ZIP)
DOC = FileType("application/msword", "a Word 97-2003 document", ("doc",), _OLE)
XLS = FileType("application/vnd.ms-excel", "an Excel 97-2003 workbook", ("xls",),
               _OLE | {"application/excel", "application/x-msexcel"})
PPT = FileType("application/vnd.ms-powerpoint", "a PowerPoint 97-2003 presentation", ("ppt", "pps"), _OLE)
MSG = FileType("application/vnd.ms-outlook", "an Outlook message", ("msg",), _OLE)
ODT = FileType("application/vnd.oasis.opendocument.text", "an OpenDocument text", ("odt",), _ZIP)
ODS = FileType("application/vnd.oasis.opendocument.spreadsheet", "an OpenDocument spreadsheet", ("ods",), _ZIP)
ODP = FileType("application/vnd.oasis.opendocument.presentation", "an OpenDocument presentation", ("odp",), _ZIP)
RTF = FileType("application/rtf", "an RTF document", ("rtf",), frozenset({"text/rtf", "application/x-rtf"}))
EML = FileType("message/rfc822", "an e-mail message", ("eml",))
# Excel on Windows makes browsers declare .csv files as application/vnd.ms-excel.
TEXT = FileType("text/plain", "plain text", ("txt", "text", "csv", "log", "md"),
                frozenset({"text/csv", "application/csv", "text/markdown", "text/x-markdown", "text/x-log",
                           "application/vnd.ms-excel"}))

ACCEPTED = (PDF, PNG, JPEG, GIF, WEBP, DOCX, XLSX, PPTX, DOC, XLS, PPT, MSG, ODT, ODS, ODP, RTF, EML, TEXT)
IMAGES = tuple(t for t in ACCEPTED if t.image)
BY_MIME = {t.mime: t for t in ACCEPTED}
# A declared type that claims nothing (what browsers send when they do not know).
NO_CLAIM = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/x-download",
                      "application/force-download", "application/unknown"})

_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
_OOXML_MACRO = (b"macroEnabled", b"vbaProject")
_ODF = {t.mime.encode(): t for t in (ODT, ODS, ODP)}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MACROS = "This file contains macros, which Concord does not accept: save it without them (or as PDF)."
_MAIL_HEADERS = {"from", "to", "cc", "subject", "date", "message-id", "mime-version", "received", "return-path",
                 "delivered-to", "reply-to", "sender"}
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")       # RFC 5322 field name, then a colon
_PLAIN_MIMETYPES = mimetypes.MimeTypes()                    # Python's built-in table only, not the host's


def identify(data: bytes) -> list[FileType]:
    """What these bytes are, best match first (more than one where they are honestly both, e.g. a UTF-8
    e-mail is also plain text). Raises Unacceptable for anything outside the allowlist."""
    if not data:
        raise Unacceptable("The file is empty.")
    found = _binary(data)
    if found is not None:
        return [found]
    if b"\x00" not in data:
        if data.startswith(b"{\\rtf"):
            return [RTF]
        text = _utf8(data)
        if _looks_like_mail(data):
            return [EML, TEXT] if text else [EML]
        if text:
            return [TEXT]
    raise Unacceptable("Concord does not accept this type of file. It accepts PDF, images (PNG, JPEG, GIF, WebP), "
                       "Word, Excel, PowerPoint, OpenDocument, RTF, Outlook and e-mail messages, and plain text.")


def _binary(data: bytes) -> FileType | None:
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if b"%PDF-" in data[:1024]:          # readers accept up to 1 KiB of junk before the header; so do we
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return _zip_based(data)
    if head.startswith(_OLE_MAGIC):
        return _ole_based(data)
    return None


def _zip_based(data: bytes) -> FileType:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if "mimetype" in names:                                   # OpenDocument
            kind = _ODF.get(_read(archive, "mimetype", 200).strip())
            if kind is not None:
                if any(name.startswith(("Basic/", "Scripts/")) for name in names):
                    raise Unacceptable(_MACROS)
                return kind
        if "[Content_Types].xml" in names:                        # Office Open XML
            types = _read(archive, "[Content_Types].xml", 1 << 20)
            if any(marker in types for marker in _OOXML_MACRO) or any(
                    name.lower().endswith("vbaproject.bin") for name in names):
                raise Unacceptable(_MACROS)
            for content_type, kind in _OOXML_MAIN.items():
                if f'ContentType="{content_type}"'.encode() in types:
                    return kind
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, EOFError, RuntimeError, ValueError) as exc:
        if isinstance(exc, Unacceptable):
            raise
        raise Unacceptable("The file looks like a zip archive but cannot be read.")
    raise Unacceptable("Concord does not accept zip archives, only Word, Excel, PowerPoint and OpenDocument files.")


def _read(archive, name: str, limit: int) -> bytes:
    with archive.open(name) as member:          # bounded: a zip bomb is not inflated beyond `limit`
        return member.read(limit)


# -- legacy Office: the OLE2 compound file's directory names its streams ---------------------
_MAX_SECTOR = 0xFFFFFFFA


def _ole_based(data: bytes) -> FileType:
    try:
        names = ole_stream_names(data)
    except (ValueError, struct.error):
        raise Unacceptable("The file looks like an Office 97-2003 file but cannot be read.")
    if names & {"Macros", "_VBA_PROJECT_CUR", "VBA", "_VBA_PROJECT"}:
        raise Unacceptable(_MACROS)
    if "__properties_version1.0" in names or any(name.startswith("__substg1.0_") for name in names):
        return MSG
    if "WordDocument" in names:
        return DOC
    if names & {"Workbook", "Book"}:
        return XLS
    if "PowerPoint Document" in names:
        return PPT
    raise Unacceptable("Concord does not accept this type of file (an OLE2 compound file that is not Word, Excel, "
                       "PowerPoint or Outlook).")


def ole_stream_names(data: bytes) -> set[str]:
    """The names of every storage and stream in an OLE2 compound file (MS-CFB), read from its directory."""
    if len(data) < 512 or not data.startswith(_OLE_MAGIC):
        raise ValueError("not a compound file")
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("bad sector size")
    size = 1 << shift
    fat_count, first_directory = struct.unpack_from("<II", data, 0x2C)
    first_difat, difat_count = struct.unpack_from("<II", data, 0x44)

    def sector(number: int) -> bytes:
        start = (number + 1) * size          # sector 0 follows the 512-byte header (padded to a sector)
        if number >= _MAX_SECTOR or start + size > len(data):
            raise ValueError("sector out of range")
        return data[start:start + size]

    fat_sectors = [n for n in struct.unpack_from("<109I", data, 0x4C) if n < _MAX_SECTOR]
    per_sector = size // 4
    number, seen = first_difat, set()
    for _ in range(difat_count):
        if number >= _MAX_SECTOR or number in seen:
            break
        seen.add(number)
        entries = struct.unpack(f"<{per_sector}I", sector(number))
        fat_sectors += [n for n in entries[:-1] if n < _MAX_SECTOR]
        number = entries[-1]
    fat_sectors = fat_sectors[:fat_count]
    fat = []
    for n in fat_sectors:
        fat.extend(struct.unpack(f"<{per_sector}I", sector(n)))

    names, number, seen = set(), first_directory, set()
    while number < _MAX_SECTOR:
        if number in seen or number >= len(fat):
            raise ValueError("broken directory chain")
        seen.add(number)
        chunk = sector(number)
        for offset in range(0, size, 128):
            length, kind = struct.unpack_from("<HB", chunk, offset + 0x40)
            if kind in (1, 2, 5) and 2 <= length <= 64:
                names.add(chunk[offset:offset + length - 2].decode("utf-16-le", "replace"))
        number = fat[number]
    return names


# -- text ---------------------------------------------------------------------------------------
def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_mail(data: bytes) -> bool:
    """An RFC 5322 header block: header fields (and folded lines) up to a blank line, with From and another."""
    head = data[:65536].lstrip(b"\xef\xbb\xbf")
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    fields = set()
    for line in lines:
        if not line:
            break
        if line[:1] in (b" ", b"\t") and fields:
            continue
        if not _HEADER_LINE.match(line):
            return False
        fields.add(line.split(b":", 1)[0].decode("ascii").lower())
    else:
        return False                     # no blank line: not a complete header block
    return "from" in fields and len(fields & _MAIL_HEADERS) >= 2


# -- labels ---------------------------------------------------------------------------------------
def extension_of(filename: str) -> str | None:
    """The name's extension if it is one (a dotted date or version is part of the name, not a type)."""
    if "." not in filename:
        return None
    ext = filename.rsplit(".", 1)[1].lower()
    if not ext:
        return None
    known = any(ext in t.extensions for t in ACCEPTED) or _PLAIN_MIMETYPES.guess_type("x." + ext)[0] is not None
    return ext if known else None


def choose(candidates: list[FileType], filename: str, declared: str | None) -> FileType:
    """The candidate that the name's extension and the declared Content-Type agree with, or Mislabelled."""
    declared = (declared or "").split(";", 1)[0].strip().lower()
    ext = extension_of(filename or "")
    for candidate in candidates:
        if (ext is None or ext in candidate.extensions) and (declared in NO_CLAIM or candidate.declared_ok(declared)):
            return candidate
    best = candidates[0]
    if ext is not None and ext not in best.extensions:
        raise Mislabelled(f"The file is named .{ext} but its content is {best.label} "
                          f"(.{best.extension}): check that it is the file you meant.")
    raise Mislabelled(f"The file was sent as {declared} but its content is {best.label} ({best.mime}).")


# -- names ---------------------------------------------------------------------------------------
MAX_FILENAME = 255
_UNSAFE_IN_NAMES = re.compile(r'[<>:"/\\|?*]')


def safe_filename(raw: str, filetype: FileType) -> str:
    """The name without any path, control or bidi characters, or characters Windows forbids; with the
    sniffed type's extension if it had none; at most 255 characters."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", _UNSAFE_IN_NAMES.sub("_", name)).strip(" .")
    if extension_of(name) is None:
        name = f"{name or 'attachment'}.{filetype.extension}"
    stem, ext = name.rsplit(".", 1)
    return f"{stem[:MAX_FILENAME - len(ext) - 1].rstrip(' .') or 'attachment'}.{ext}"
