import struct
import zlib

import numpy as np
import pytest

from licodec.coding.container import MAGIC, ContainerError, Header, pack, unpack

HEADER = Header("cheng2020-anchor-ckbd", b"\x01\x02\x03\x04\x05\x06\x07\x08", 2, 3, 33, 17, 47, 31)


def valid_file() -> bytes:
    return pack(HEADER, [b"\x00\x11\x22\x33", b"\x44\x55\x66\x77\x88\x99\xaa\xbb"])


def test_pack_unpack_roundtrip():
    header, sections = unpack(valid_file())
    assert header == HEADER
    assert sections == [b"\x00\x11\x22\x33", b"\x44\x55\x66\x77\x88\x99\xaa\xbb"]


def test_every_single_bit_flip_raises_container_error():
    data = valid_file()
    for i in range(len(data) * 8):
        damaged = bytearray(data)
        damaged[i // 8] ^= 1 << (i % 8)
        with pytest.raises(ContainerError):
            unpack(bytes(damaged))


def test_every_truncation_raises_container_error():
    data = valid_file()
    for n in range(len(data)):
        with pytest.raises(ContainerError):
            unpack(data[:n])


def test_trailing_garbage_is_rejected():
    body = valid_file()[:-4] + b"junk"
    with pytest.raises(ContainerError, match="trailing garbage"):
        unpack(body + struct.pack("<I", zlib.crc32(body)))


def test_random_bytes_raise_container_error():
    rng = np.random.default_rng(0)
    for n in [0, 1, 5, 20, 100, 1000]:
        for _ in range(50):
            blob = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
            with pytest.raises(ContainerError):
                unpack(blob)
            with pytest.raises(ContainerError):
                unpack(MAGIC + bytes([1]) + blob)


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def test_absurd_dimensions_are_rejected_without_allocating():
    name = b"m"
    body = MAGIC + bytes([1, len(name)]) + name + b"\0" * 8
    body += struct.pack("<BBIIHH", 0, 3, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0) + bytes([1]) + struct.pack("<I", 0)
    with pytest.raises(ContainerError, match="image size"):
        unpack(_with_crc(body))


def test_section_length_beyond_the_file_is_truncation():
    name = b"m"
    body = MAGIC + bytes([1, len(name)]) + name + b"\0" * 8
    body += struct.pack("<BBIIHH", 0, 3, 10, 10, 54, 54) + bytes([1]) + struct.pack("<I", 2**31)
    with pytest.raises(ContainerError, match="truncated"):
        unpack(_with_crc(body))


def test_unknown_version_and_wrong_magic_are_named():
    data = bytearray(valid_file())
    data[len(MAGIC)] = 9
    with pytest.raises(ContainerError, match="version 9"):
        unpack(bytes(data))
    with pytest.raises(ContainerError, match="magic"):
        unpack(b"\x89PNG\r\n\x1a\n" + bytes(100))


def test_invalid_header_values_are_refused_when_writing():
    with pytest.raises(ContainerError):
        pack(Header("", b"\0" * 8, 0, 3, 1, 1, 0, 0), [b""])
    with pytest.raises(ContainerError):
        pack(Header("m", b"\0" * 8, 0, 2, 1, 1, 0, 0), [b""])
