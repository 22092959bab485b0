"""Makes cjk-subset.woff2, the Chinese font the web pages embed, from Noto Sans CJK SC
(Debian's fonts-noto-cjk, SIL Open Font License 1.1; see OFL.txt).

The subset holds the 3,755 characters of GB 2312 level 1 (the common Chinese characters, which
cover most place and hospital names), every Chinese character in the sources under src/ (the
pages' labels and the standards' Chinese labels), and CJK punctuation; anything else falls back to the system's fonts character by character.

    apt-get install fonts-noto-cjk && pip install fonttools brotli
    python3 src/api/web/fonts/subset.py
"""

import pathlib
import re

from fontTools import subset
from fontTools.ttLib import TTCollection

HERE = pathlib.Path(__file__).parent
SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SC = 2  # the face of Noto Sans CJK SC in the collection

chars = set()
for hi in range(0xB0, 0xD8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
# Every Chinese character in the sources: the pages' labels and the targets' labels
# (`label_zh`) the planning page shows.
SRC = HERE.parent.parent.parent
for f in [*SRC.rglob("*.js"), *SRC.rglob("*.rs"), *SRC.rglob("*.html")]:
    chars.update(re.findall(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", f.read_text("utf-8")))
chars.update(chr(c) for c in range(0x3000, 0x3040))
chars.update(chr(c) for c in range(0xFF01, 0xFF5F))

font = TTCollection(SOURCE).fonts[SC]
opts = subset.Options()
opts.flavor = "woff2"
opts.layout_features = ["*"]
opts.name_IDs = ["*"]
opts.name_languages = ["*"]
opts.notdef_outline = True
s = subset.Subsetter(opts)
s.populate(text="".join(sorted(chars)))
s.subset(font)
font.flavor = "woff2"
out = HERE / "cjk-subset.woff2"
font.save(out)
print(f"{out}: {len(chars)} characters, {out.stat().st_size} bytes")
