"""A small adapter between probability tables and constriction's range coder.

Range coding is a queue: the encoder writes groups in the order the decoder reads them, so both sides can
walk one decode schedule step by step. Escaped symbols (outside their table's window) are written right
after their group as Elias-gamma codes with uniform models: rare, but any int32 value round-trips.
"""

import constriction
import numpy as np

from licodec.entropy.tables import TableGroup

Categorical = constriction.stream.model.Categorical
Uniform = constriction.stream.model.Uniform
RangeEncoder = constriction.stream.queue.RangeEncoder
RangeDecoder = constriction.stream.queue.RangeDecoder
_CATEGORICAL = Categorical(perfect=False)
_UNIFORM = Uniform()
_NBITS_ALPHABET = 64
_CHUNK = 16


# What constriction raises on compressed data that its models cannot have produced: crafted or damaged bytes
# surface as an AssertionError ("Tried to decode from compressed data that is invalid ...") among others.
_INVALID_DATA_ERRORS = (AssertionError, ValueError, KeyError, OverflowError)


class CodingError(ValueError):
    """The compressed data does not decode (corrupt stream or mismatched model)."""


class Encoder:
    def __init__(self):
        self._coder = RangeEncoder()

    def encode(self, symbols: np.ndarray, groups: list[TableGroup]) -> None:
        """Encode int32 ``symbols`` (flat) with the tables of ``groups``."""
        symbols = np.asarray(symbols, dtype=np.int64)
        for g in groups:
            values = symbols[g.index]
            relative = values - g.offset
            escaped = (relative < 0) | (relative >= g.width)
            coded = np.where(escaped, g.width, relative).astype(np.int32)
            self._coder.encode(coded, _CATEGORICAL, g.probs)
            if escaped.any():
                self._encode_escapes(values[escaped], g.offset[escaped].astype(np.int64), g.width)

    def _encode_escapes(self, values: np.ndarray, offset: np.ndarray, width: int) -> None:
        below = values < offset
        distance = np.where(below, 2 * (offset - 1 - values), 2 * (values - offset - width) + 1)
        u = distance + 1  # >= 1
        nbits = np.floor(np.log2(u.astype(np.float64))).astype(np.int64)
        nbits += (np.left_shift(1, nbits + 1) <= u).astype(np.int64)  # guard float rounding of log2
        nbits -= (np.left_shift(1, nbits) > u).astype(np.int64)
        self._coder.encode(nbits.astype(np.int32), Uniform(_NBITS_ALPHABET))
        for shift in range(0, int(nbits.max()), _CHUNK):
            has = nbits > shift
            bits = np.minimum(nbits[has] - shift, _CHUNK)
            chunk = (u[has] >> shift) & ((1 << bits) - 1)
            self._coder.encode(chunk.astype(np.int32), _UNIFORM, (1 << bits).astype(np.int32))

    def finish(self) -> bytes:
        return self._coder.get_compressed().tobytes()


class Decoder:
    def __init__(self, data: bytes):
        if len(data) % 4:
            raise CodingError("entropy-coded section length is not a multiple of 4 bytes")
        self._coder = RangeDecoder(np.frombuffer(data, dtype=np.uint32).copy())

    def decode(self, n: int, groups: list[TableGroup]) -> np.ndarray:
        """Decode ``n`` symbols laid out as in the matching ``Encoder.encode`` call -> (n,) int32.

        Raises CodingError, whatever is wrong with the data."""
        try:
            return self._decode(n, groups)
        except CodingError:
            raise
        except _INVALID_DATA_ERRORS as e:
            reason = " ".join(str(e).split()) or type(e).__name__  # one line for the CLI's error
            raise CodingError(reason) from e

    def _decode(self, n: int, groups: list[TableGroup]) -> np.ndarray:
        out = np.zeros(n, dtype=np.int64)
        for g in groups:
            coded = self._coder.decode(_CATEGORICAL, g.probs).astype(np.int64)
            values = g.offset + coded
            escaped = coded == g.width
            if escaped.any():
                values[escaped] = self._decode_escapes(g.offset[escaped].astype(np.int64), g.width)
            out[g.index] = values
        if np.abs(out).max(initial=0) > np.iinfo(np.int32).max:
            raise CodingError("decoded value out of range")
        return out.astype(np.int32)

    def _decode_escapes(self, offset: np.ndarray, width: int) -> np.ndarray:
        nbits = self._coder.decode(Uniform(_NBITS_ALPHABET), len(offset)).astype(np.int64)
        u = np.left_shift(1, nbits)
        for shift in range(0, int(nbits.max()), _CHUNK):
            has = nbits > shift
            bits = np.minimum(nbits[has] - shift, _CHUNK)
            chunk = self._coder.decode(_UNIFORM, (1 << bits).astype(np.int32)).astype(np.int64)
            u[has] |= chunk << shift
        distance = u - 1
        below = distance % 2 == 0
        return np.where(below, offset - 1 - distance // 2, offset + width + (distance - 1) // 2)
