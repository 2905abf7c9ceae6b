"""The text of each page of a PDF printed by Chromium (Skia), for tests of printed reports.

Skia writes text as glyph ids of Type 0 fonts with a ToUnicode map per font; this reads the
page objects, their content streams (Flate) and those maps, enough to find what a page shows.
Not a general PDF parser.
"""

from __future__ import annotations

import re
import zlib


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2)
            for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S)}


def _stream(objs: dict[int, bytes], num: int) -> bytes:
    body = objs[num]
    m = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
    assert m is not None, f"object {num} has no stream"
    return zlib.decompress(m.group(1)) if b"/FlateDecode" in body else m.group(1)


def _unicode_map(objs: dict[int, bytes], font: int) -> dict[int, str]:
    m = re.search(rb"/ToUnicode (\d+) 0 R", objs[font])
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
    for _, body in sorted(objs.items()):
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
