"""Finding a font that draws Chinese, wherever the system keeps it (no hard-coded path)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC")
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")


@functools.cache
def cjk_font_path() -> Path:
    """The file of an installed CJK font; fontconfig first, then the usual folders."""
    for family in FAMILIES:
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{file}", f"{family}:lang=zh-cn"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            break
        if found and Path(found).is_file() and any(word in found.lower() for word in ("wqy", "cjk", "han")):
            return Path(found)
    for folder in FONT_DIRS:
        for pattern in ("**/wqy-microhei.tt[cf]", "**/NotoSansCJK*.tt[cf]", "**/SourceHanSans*.[ot]t[cf]"):
            for match in sorted(folder.glob(pattern)):
                return match
    raise FileNotFoundError("no CJK font installed (make setup installs fonts-wqy-microhei)")


def reportlab_cjk_font() -> str:
    """Register the CJK font with reportlab once and answer its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "CJK" not in pdfmetrics.getRegisteredFontNames():
        path = cjk_font_path()
        pdfmetrics.registerFont(
            TTFont("CJK", str(path), subfontIndex=0) if path.suffix == ".ttc" else TTFont("CJK", str(path))
        )
    return "CJK"
