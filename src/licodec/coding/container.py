"""The .lic file container.

    offset  size  field
    0       8     magic  b"\\x89LIC\\r\\n\\x1a\\n"  (PNG-style: catches text-mode and truncation damage)
    8       1     format version (1)
    9       1     model name length L (1..64), then L bytes of ASCII model name
    10+L    8     fingerprint of the weights that wrote the file
    ...     1     quality index (rate point of a variable-rate model)
    ...     1     channels of the original image (1 = grey, 3 = RGB)
    ...     4+4   width, height of the original image (little-endian uint32)
    ...     2+2   padding added below and to the right (uint16)
    ...     1     section count S (1..16), then S x (uint32 length + bytes): the entropy-coded streams
    end-4   4     CRC-32 of everything before it

Every way a file can be wrong raises ContainerError with a message naming what is wrong.
"""

import struct
import zlib
from dataclasses import dataclass

MAGIC = b"\x89LIC\r\n\x1a\n"
VERSION = 1
MAX_SIDE = 1 << 16
MAX_PIXELS = 1 << 28
MAX_SECTIONS = 16
MAX_PAD = 1024


class ContainerError(ValueError):
    """The bytes are not a valid .lic file of a version this licodec reads."""


@dataclass(frozen=True)
class Header:
    model: str
    fingerprint: bytes
    quality: int
    channels: int
    width: int
    height: int
    pad_bottom: int
    pad_right: int

    def validate(self) -> None:
        if not (1 <= len(self.model) <= 64 and self.model.isascii() and self.model.isprintable()):
            raise ContainerError(f"model name {self.model!r} is not 1-64 printable ASCII characters")
        if len(self.fingerprint) != 8:
            raise ContainerError("fingerprint must be 8 bytes")
        if not 0 <= self.quality < 256:
            raise ContainerError(f"quality index {self.quality} outside 0..255")
        if self.channels not in (1, 3):
            raise ContainerError(f"channel count {self.channels} is not 1 or 3")
        if not (1 <= self.width <= MAX_SIDE and 1 <= self.height <= MAX_SIDE):
            raise ContainerError(f"image size {self.width}x{self.height} outside 1..{MAX_SIDE} per side")
        if self.width * self.height > MAX_PIXELS:
            raise ContainerError(f"image of {self.width}x{self.height} pixels exceeds {MAX_PIXELS} pixels")
        if not (0 <= self.pad_bottom < MAX_PAD and 0 <= self.pad_right < MAX_PAD):
            raise ContainerError(f"padding {self.pad_bottom}/{self.pad_right} outside 0..{MAX_PAD - 1}")


_FIXED = struct.Struct("<BBIIHH")  # quality, channels, width, height, pad_bottom, pad_right


def pack(header: Header, sections: list[bytes]) -> bytes:
    header.validate()
    if not 1 <= len(sections) <= MAX_SECTIONS:
        raise ContainerError(f"{len(sections)} sections; a file holds 1..{MAX_SECTIONS}")
    name = header.model.encode("ascii")
    parts = [MAGIC, bytes([VERSION, len(name)]), name, header.fingerprint]
    parts.append(_FIXED.pack(header.quality, header.channels, header.width, header.height,
                             header.pad_bottom, header.pad_right))  # fmt: skip
    parts.append(bytes([len(sections)]))
    for s in sections:
        parts += [struct.pack("<I", len(s)), s]
    body = b"".join(parts)
    return body + struct.pack("<I", zlib.crc32(body))


class _Reader:
    def __init__(self, data: bytes, end: int):
        self.data, self.pos, self.end = data, 0, end

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > self.end:
            raise ContainerError(f"file is truncated: {what} runs past the end")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def unpack(data: bytes) -> tuple[Header, list[bytes]]:
    """Parse and verify a .lic file -> (header, sections)."""
    data = bytes(data)
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise ContainerError("not a .lic file (wrong magic bytes)")
    if len(data) < len(MAGIC) + 1:
        raise ContainerError("file is truncated: no format version")
    if data[len(MAGIC)] != VERSION:
        raise ContainerError(f"unsupported .lic format version {data[len(MAGIC)]} (this licodec reads {VERSION})")
    if len(data) < len(MAGIC) + 6:
        raise ContainerError("file is truncated: shorter than a header")
    stored = struct.unpack("<I", data[-4:])[0]
    if zlib.crc32(data[:-4]) != stored:
        raise ContainerError("checksum mismatch: the file is corrupt or truncated")
    r = _Reader(data, len(data) - 4)
    r.take(len(MAGIC) + 1, "magic")
    name_len = r.take(1, "model name length")[0]
    name = r.take(name_len, "model name")
    try:
        model = name.decode("ascii")
    except UnicodeDecodeError as e:
        raise ContainerError("model name is not ASCII") from e
    fingerprint = r.take(8, "fingerprint")
    quality, channels, width, height, pad_b, pad_r = _FIXED.unpack(r.take(_FIXED.size, "image header"))
    header = Header(model, fingerprint, quality, channels, width, height, pad_b, pad_r)
    header.validate()
    count = r.take(1, "section count")[0]
    if not 1 <= count <= MAX_SECTIONS:
        raise ContainerError(f"section count {count} outside 1..{MAX_SECTIONS}")
    sections = []
    for i in range(count):
        (length,) = struct.unpack("<I", r.take(4, f"section {i} length"))
        sections.append(r.take(length, f"section {i}"))
    if r.pos != r.end:
        raise ContainerError(f"{r.end - r.pos} bytes of trailing garbage after the last section")
    return header, sections
