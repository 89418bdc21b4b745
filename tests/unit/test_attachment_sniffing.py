"""What a file is, from its bytes (concord_common/attachments/sniffing.py), and the names it is kept under."""
import io
import struct
import zipfile

import pytest

from concord_common.attachments import sniffing as s
from concord_common.attachments.sniffing import safe_filename

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
RTF = b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} Strategy meeting notes\\par}"
TEXT = "Visit notes: Ann was at home; spoke to her mum. Café at 3pm.\n".encode()
MAIL = (b"Return-Path: <duty@example.org>\r\nFrom: Duty Desk <duty@example.org>\r\nTo: hub@example.org\r\n"
        b"Subject: Referral\r\n  (folded)\r\nDate: Tue, 3 Mar 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n"
        b"\r\nPlease see the referral.\r\n")
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


def ooxml(main_type: str, main_part: str, extra=()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/{main_part}" ContentType="{main_type}"/></Types>'))
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr(main_part, "<document/>")
        for name in extra:
            archive.writestr(name, b"\x00\x01")
    return buffer.getvalue()


def odf(mimetype: str, extra=()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)          # first, stored, as the spec says
        archive.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
        for name in extra:
            archive.writestr(name, "<script/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


def ole(*names: str) -> bytes:
    """A minimal OLE2 compound file (512-byte sectors): header, one FAT sector, a two-sector directory
    (the chain is followed through the FAT), and empty streams with these names."""
    END, FREE, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 0, 1, 1, 0, 4096, END, 0, END, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([FREE] * 108))
    fat = struct.pack("<128I", FATSECT, 2, END, *([FREE] * 125))

    def entry(name: str, kind: int) -> bytes:
        raw = (name + "\x00").encode("utf-16-le")
        out = bytearray(128)
        out[0:len(raw)] = raw
        struct.pack_into("<HBB", out, 0x40, len(raw), kind, 1)
        struct.pack_into("<III", out, 0x44, FREE, FREE, FREE)
        struct.pack_into("<II", out, 0x74, END, 0)
        return bytes(out)
    entries = [entry("Root Entry", 5)] + [entry(name, 2) for name in names]
    entries += [bytes(128)] * (8 - len(entries))
    return bytes(header) + fat + b"".join(entries)


ACCEPTED = [
    (PDF, s.PDF), (b"\xef\xbb\xbfjunk before the header " + PDF, s.PDF), (PNG, s.PNG), (JPEG, s.JPEG), (GIF, s.GIF),
    (WEBP, s.WEBP), (RTF, s.RTF), (TEXT, s.TEXT),
    (ooxml("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
           "word/document.xml"), s.DOCX),
    (ooxml("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "xl/workbook.xml"), s.XLSX),
    (ooxml("application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
           "ppt/presentation.xml"), s.PPTX),
    (odf("application/vnd.oasis.opendocument.text"), s.ODT),
    (odf("application/vnd.oasis.opendocument.spreadsheet"), s.ODS),
    (odf("application/vnd.oasis.opendocument.presentation"), s.ODP),
    (ole("WordDocument", "1Table", "\x05SummaryInformation"), s.DOC),
    (ole("Workbook"), s.XLS), (ole("Book"), s.XLS),
    (ole("PowerPoint Document", "Current User"), s.PPT),
    (ole("__properties_version1.0", "__substg1.0_0037001F", "__nameid_version1.0", "WordDocument"), s.MSG),
]


@pytest.mark.parametrize("data, expected", ACCEPTED, ids=[t.extension + str(i) for i, (_, t) in enumerate(ACCEPTED)])
def test_each_accepted_type_is_known_by_its_bytes(data, expected):
    assert s.identify(data)[0] is expected


def test_a_utf8_email_is_also_plain_text_and_an_8bit_one_only_email():
    assert s.identify(MAIL) == [s.EML, s.TEXT]
    assert s.identify(MAIL.replace(b"Please", b"Caf\xe9")) == [s.EML]
    assert s.identify(b"From: someone\nbut no blank line ends the headers") == [s.TEXT]
    assert s.identify(b"Subject: only one header\n\nbody") == [s.TEXT]


@pytest.mark.parametrize("data", [
    ELF, EXE, b"", b"\x00\x01\x02\x03", "latin-1 text: caf\xe9".encode("latin-1"), b"text with a NUL\x00 inside",
    plain_zip(), ole("SomethingElse"), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 truncated compound file",
    b"PK\x03\x04 not really a zip", b"\x1f\x8b\x08\x00 gzip"])
def test_anything_else_is_refused(data):
    with pytest.raises(s.Unacceptable):
        s.identify(data)


@pytest.mark.parametrize("data", [
    ooxml("application/vnd.ms-word.document.macroEnabled.main+xml", "word/document.xml"),
    ooxml("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", "word/document.xml",
          extra=["word/vbaProject.bin"]),
    ole("WordDocument", "Macros"), ole("Workbook", "_VBA_PROJECT_CUR"),
    odf("application/vnd.oasis.opendocument.text", extra=["Basic/Standard/Module1.xml"])])
def test_office_files_with_macros_are_refused(data):
    with pytest.raises(s.Unacceptable, match="macros"):
        s.identify(data)


def test_an_empty_file_says_so():
    with pytest.raises(s.Unacceptable, match="empty"):
        s.identify(b"")


@pytest.mark.parametrize("filename, declared, expected", [
    ("photo.png", "image/png", s.PNG), ("PHOTO.PNG", "image/png; charset=binary", s.PNG), ("photo", None, s.PNG),
    ("photo.png", "application/octet-stream", s.PNG), ("photo.png", "", s.PNG),
    ("Minutes 12.03.2024", None, s.PNG),                 # a dotted date is not an extension
])
def test_a_name_and_declared_type_that_agree_with_the_bytes_pass(filename, declared, expected):
    assert s.choose(s.identify(PNG), filename, declared) is expected


def test_aliases_browsers_send_are_honest_labels():
    assert s.choose(s.identify(JPEG), "scan.jpeg", "image/jpg") is s.JPEG
    assert s.choose(s.identify(TEXT), "export.csv", "text/csv") is s.TEXT
    assert s.choose(s.identify(TEXT), "export.csv", "application/vnd.ms-excel") is s.TEXT   # Excel on Windows
    assert s.choose(s.identify(MAIL), "referral.eml", "message/rfc822") is s.EML
    assert s.choose(s.identify(MAIL), "referral.txt", "text/plain") is s.TEXT      # a mail saved as text is text
    assert s.choose(s.identify(ole("WordDocument")), "old.doc", "application/msword") is s.DOC


@pytest.mark.parametrize("data, filename, declared, says", [
    (PNG, "report.pdf", None, ".pdf"), (PNG, "photo.png", "application/pdf", "application/pdf"),
    (PNG, "photo.exe", None, ".exe"), (TEXT, "page.html", "text/html", ".html"), (TEXT, "logo.svg", None, ".svg"),
    (PDF, "scan.docx", None, ".docx"), (MAIL.replace(b"Please", b"Caf\xe9"), "referral.txt", None, ".txt"),
    (ole("Workbook"), "budget.doc", "application/msword", ".doc"),
])
def test_a_mislabelled_file_is_refused_naming_what_it_is(data, filename, declared, says):
    with pytest.raises(s.Mislabelled) as refused:
        s.choose(s.identify(data), filename, declared)
    assert says in str(refused.value) and s.identify(data)[0].label in str(refused.value)


def test_extensions():
    assert s.extension_of("a.PDF") == "pdf" and s.extension_of("archive.tar.exe") == "exe"
    assert s.extension_of("no extension") is None and s.extension_of("v2.1") is None and s.extension_of("x.") is None
    assert s.extension_of("notes.final") is None       # not a type anyone knows: part of the name


@pytest.mark.parametrize("raw, expected", [
    ("report.pdf", "report.pdf"), ("../../etc/passwd", "passwd.pdf"),
    ("C:\\Users\\pat\\Desktop\\report.pdf", "report.pdf"), ("evil\u202egnp.pdf", "evilgnp.pdf"),
    ('a<b>:c"d|e?f*.pdf', "a_b__c_d_e_f_.pdf"), ("  .hidden.pdf ", "hidden.pdf"), ("", "attachment.pdf"),
    ("Minutes 12.03.2024", "Minutes 12.03.2024.pdf"), ("Zoë’s  notes\t.pdf", "Zoë’s notes.pdf"),
])
def test_filenames_are_made_safe_and_get_the_real_extension(raw, expected):
    assert safe_filename(raw, s.PDF) == expected


def test_long_filenames_keep_their_extension():
    name = safe_filename("x" * 400 + ".pdf", s.PDF)
    assert len(name) == 255 and name.endswith("x.pdf")
