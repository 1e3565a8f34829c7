"""Byte-level FITS editing for the fuzz campaign (scripts/fuzz) and the fuzz regression corpus.

Works on the raw bytes (a bytearray) rather than through astropy, so that it can read and write
the broken files a fuzzer makes: headers are 2880-byte blocks of 80-character cards ending with
an END card; each HDU's data follows its header, padded to a whole block.
"""
import math
import re

import numpy as np

BLOCK = 2880
CARD = 80

# Bytes per element of each binary-table TFORM letter (P and Q are array descriptors).
TFORM_BYTES = {"L": 1, "X": 1, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8,
               "C": 8, "M": 16, "P": 8, "Q": 16}
TFORM_DTYPE = {"B": ">u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}


class Hdu:
    """One HDU as found in the bytes: where its header and data are, and its cards."""

    def __init__(self, number, header_start):
        self.number = number            # 1-based, as CFITSIO counts
        self.header_start = header_start
        self.data_start = None          # first byte after the header (block aligned)
        self.data_size = 0              # unpadded data bytes the header announces
        self.cards = []                 # (key, value text, byte offset of the card)

    @property
    def data_end(self):                 # end of the data padded to a whole block
        return self.data_start + ((self.data_size + BLOCK - 1) // BLOCK) * BLOCK

    def key_offset(self, key):
        for k, _, off in self.cards:
            if k == key:
                return off
        return None

    def value(self, key, default=None):
        for k, v, _ in self.cards:
            if k == key:
                return parse_value(v)
        return default


def parse_value(text):
    """A card's value text as str, int, float or bool; None when it cannot be read."""
    text = text.strip()
    if text.startswith("'"):
        end = text.find("'", 1)
        while end != -1 and end + 1 < len(text) and text[end + 1] == "'":
            end = text.find("'", end + 2)
        return text[1:end if end != -1 else None].replace("''", "'").rstrip()
    text = text.split("/", 1)[0].strip()
    if text in ("T", "F"):
        return text == "T"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text.replace("D", "E").replace("d", "e"))
    except ValueError:
        return None


def parse(buf):
    """The HDUs of a FITS file's bytes, as far as they can be read (stops at the first damage)."""
    hdus = []
    pos = 0
    while pos + BLOCK <= len(buf):
        hdu = Hdu(len(hdus) + 1, pos)
        end = None
        p = pos
        while p + CARD <= len(buf):
            card = bytes(buf[p:p + CARD]).decode("ascii", "replace")
            key = card[:8].rstrip()
            if key == "END":
                end = p + CARD
                break
            value = card[10:] if card[8:10] == "= " else ""
            hdu.cards.append((key, value, p))
            p += CARD
        if end is None:
            break
        hdu.data_start = ((end - 1) // BLOCK + 1) * BLOCK
        bitpix = hdu.value("BITPIX", 8)
        naxis = hdu.value("NAXIS", 0)
        try:
            if naxis > 0:
                elements = math.prod(hdu.value("NAXIS%d" % k, 0) for k in range(1, naxis + 1))
                hdu.data_size = abs(bitpix) // 8 * hdu.value("GCOUNT", 1) * (
                    hdu.value("PCOUNT", 0) + elements)
        except TypeError:
            break
        hdus.append(hdu)
        if hdu.data_size < 0 or hdu.data_end <= pos:
            break
        pos = hdu.data_end
    return hdus


def format_card(key, value, comment=""):
    """An 80-character card: numbers right-aligned in columns 11-30, strings quoted."""
    if isinstance(value, bool):
        text = "%20s" % ("T" if value else "F")
    elif isinstance(value, int):
        text = "%20d" % value
    elif isinstance(value, float):
        text = "%20s" % (repr(value).upper() if math.isfinite(value) else repr(value))
    elif isinstance(value, RawValue):
        text = "%20s" % value.text
    else:
        text = "'%-8s'" % str(value).replace("'", "''")
    card = "%-8s= %s" % (key, text)
    if comment:
        card += " / " + comment
    return card[:CARD].ljust(CARD).encode("latin-1", "replace")


class RawValue:
    """Value text written into a card as is (e.g. 'NAN', '1E999', a broken number)."""

    def __init__(self, text):
        self.text = text


def set_key(buf, hdu, key, value):
    """Replaces the value of `key` in `hdu` (in place). False when the key is absent."""
    off = hdu.key_offset(key)
    if off is None:
        return False
    buf[off:off + CARD] = format_card(key, value)
    return True


def delete_key(buf, hdu, key):
    """Blanks the card of `key` (a blank card is legal anywhere in a header)."""
    off = hdu.key_offset(key)
    if off is None:
        return False
    buf[off:off + CARD] = b" " * CARD
    return True


def end_offset(buf, hdu):
    """Byte offset of the END card of `hdu`."""
    last = hdu.cards[-1][2] + CARD if hdu.cards else hdu.header_start
    return last


def columns(hdu):
    """Binary-table columns: list of dicts name, tform, letter, repeat, offset (in the row)."""
    out = []
    offset = 0
    for k in range(1, (hdu.value("TFIELDS", 0) or 0) + 1):
        tform = str(hdu.value("TFORM%d" % k, "") or "")
        m = re.match(r"\s*(\d*)([A-Z])", tform)
        if not m:
            return out
        repeat = int(m.group(1)) if m.group(1) else 1
        letter = m.group(2)
        width = TFORM_BYTES.get(letter, 0) * (repeat if letter != "X" else (repeat + 7) // 8)
        if letter in "PQ":
            width = TFORM_BYTES[letter]
        out.append({"name": str(hdu.value("TTYPE%d" % k, "") or "").strip().upper(),
                    "number": k, "tform": tform, "letter": letter, "repeat": repeat,
                    "offset": offset})
        offset += width
    return out


def column_array(buf, hdu, name):
    """A writable numpy view of a scalar column (name upper case) of `hdu`, or None."""
    rowlen = hdu.value("NAXIS1", 0)
    nrows = hdu.value("NAXIS2", 0)
    for c in columns(hdu):
        if c["name"] == name and c["letter"] in TFORM_DTYPE and c["repeat"] == 1:
            if hdu.data_start + rowlen * nrows > len(buf) or nrows <= 0:
                return None
            return np.ndarray(shape=(nrows,), dtype=TFORM_DTYPE[c["letter"]], buffer=buf,
                              offset=hdu.data_start + c["offset"], strides=(rowlen,))
    return None


def detector_hdus(hdus):
    """The BINTABLE HDUs (the detectors of a timeline file)."""
    return [h for h in hdus if h.number > 1 and str(h.value("XTENSION", "")).strip() == "BINTABLE"]
