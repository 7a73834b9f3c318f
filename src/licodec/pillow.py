"""A Pillow plugin: ``import licodec.pillow`` and Pillow opens and saves .lic files.

    import licodec.pillow
    from PIL import Image

    img = Image.open("photo.lic")           # size and mode from the header; nothing is decoded yet
    img.load()                               # decodes with the shipped weights the file names
    Image.open("photo.png").save("photo.lic", quality=4, model="anchor-ckbd-n112-m192", refine=0)

Save options: ``quality`` (1-based rate point, as ``licodec encode --quality``; default the model's highest),
``model`` (a shipped weights name or a weights file; default the default weights), ``refine`` (latent
refinement steps; default as ``licodec encode``). Errors are Pillow's: a damaged or foreign file fails to
open (``UnidentifiedImageError``) or to load (``OSError``), with licodec's message; a bad save option is a
``ValueError``.
"""

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from licodec.codec import IncompatibleError, compress, decompress, read_header, read_image
from licodec.coding.container import MAGIC, ContainerError
from licodec.zoo import load_model, resolve

FORMAT = "LIC"


def _accept(prefix: bytes) -> bool:
    return prefix[: len(MAGIC)] == MAGIC


class LicImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "licodec learned image compression"

    def _open(self) -> None:
        data = self.fp.read()
        try:
            header = read_header(data)
        except ContainerError as e:  # the magic matched: say what is wrong instead of Pillow's "cannot identify"
            raise UnidentifiedImageError(f"damaged .lic file: {e}") from e
        self._size = (header.width, header.height)
        self._mode = "L" if header.channels == 1 else "RGB"
        self.info["licodec_model"] = header.model
        self.info["licodec_quality"] = header.quality + 1
        self._data, self._header = data, header
        self.tile = []  # decoded in load(), not by a Pillow decoder

    def load(self):
        if getattr(self, "_data", None) is not None:
            try:
                pixels = decompress(self._data, resolve(self._header))
            except (ContainerError, IncompatibleError, LookupError) as e:
                raise OSError(f"cannot decode .lic file: {e}") from e
            self.im = Image.fromarray(np.ascontiguousarray(pixels)).im
            self._data = None
        return super().load()


def _save(im: Image.Image, fp, filename) -> None:
    options = im.encoderinfo
    try:
        model = load_model(options.get("model"))
    except LookupError as e:
        raise ValueError(str(e)) from e
    quality = options.get("quality")
    if quality is not None and not (isinstance(quality, int) and 1 <= quality <= model.rates):
        raise ValueError(f"quality {quality!r} out of range: this model has qualities 1..{model.rates}")
    data = compress(read_image(im), model, None if quality is None else quality - 1, options.get("refine"))
    fp.write(data)


Image.register_open(FORMAT, LicImageFile, _accept)
Image.register_save(FORMAT, _save)
Image.register_extension(FORMAT, ".lic")
Image.register_mime(FORMAT, "image/x-licodec")
