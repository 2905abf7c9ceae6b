"""The text of each page of a PDF printed by Chromium (Skia), for tests of printed reports.

Skia writes text as glyph ids of Type 0 fonts with a ToUnicode map per font; this reads the
page objects, their content streams (Flate) and those maps, enough to find what a page shows.
Not a general PDF parser.
"""

from __future__ import annotations

import re
import zlib


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Each object's dictionary and, for a stream, its raw data (read by ``/Length``, so
    binary data that happens to contain ``endobj`` does not cut it short)."""
    objs: dict[int, tuple[bytes, bytes | None]] = {}
    header = re.compile(rb"(\d+) 0 obj")
    pos = 0
    while (m := header.search(pdf, pos)) is not None:
        start = m.end()
        end = pdf.find(b"endobj", start)
        stream = pdf.find(b"stream", start)
        if stream != -1 and stream < end:
            head = pdf[start:stream]
            length = re.search(rb"/Length (\d+)", head)
            assert length is not None, f"object {m.group(1)!r} has no direct /Length"
            data = stream + len(b"stream") + (2 if pdf[stream + 6:stream + 8] == b"\r\n" else 1)
            objs[int(m.group(1))] = (head, pdf[data:data + int(length.group(1))])
            pos = pdf.find(b"endobj", data + int(length.group(1)))
        else:
            objs[int(m.group(1))] = (pdf[start:end], None)
            pos = end
    return objs


def _stream(objs: dict[int, tuple[bytes, bytes | None]], num: int) -> bytes:
    head, data = objs[num]
    assert data is not None, f"object {num} has no stream"
    return zlib.decompress(data) if b"/FlateDecode" in head else data


def _unicode_map(objs: dict[int, tuple[bytes, bytes | None]], font: int) -> dict[int, str]:
    m = re.search(rb"/ToUnicode (\d+) 0 R", objs[font][0])
    if not m:
        return {}
    cmap = _stream(objs, int(m.group(1)))
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(
                rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = chr(int(dst, 16) + i)
    return out


def page_texts(pdf: bytes) -> list[str]:
    """The text shown on each page, in page-object order, glyphs concatenated."""
    objs = _objects(pdf)
    pages = []
    for _, (body, _data) in sorted(objs.items()):
        if not re.search(rb"/Type /Page\b(?!s)", body):
            continue
        fonts = {name: _unicode_map(objs, int(ref))
                 for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", body)}
        contents = re.search(rb"/Contents (\d+) 0 R", body)
        assert contents is not None
        font: dict[int, str] = {}
        shown = []
        for tok in re.finditer(rb"/(F\d+) [\d.]+ Tf|<([0-9A-Fa-f]*)>",
                               _stream(objs, int(contents.group(1)))):
            if tok.group(1):
                font = fonts.get(tok.group(1), {})
            else:
                h = tok.group(2).decode()
                shown.append("".join(font.get(int(h[i:i + 4], 16), "?")
                                     for i in range(0, len(h), 4)))
        pages.append("".join(shown))
    return pages
