"""The site's icon and logo: the shipped ones or the editor's own, in the sizes each use wants.

The editor gives one square image (``FEEDS_ICON``) and one wide image (``FEEDS_LOGO``) in any
format Pillow reads; feeds serves them as PNG, made once per process:

- ``/icon.png``: square, at most 512 pixels: Atom ``<icon>``, JSON Feed ``icon`` ("square
  and relatively large, such as 512 x 512"), the pages' touch icon;
- ``/favicon.png`` (64 pixels, JSON Feed ``favicon``) and ``/favicon.ico`` (16, 32 and 48):
  the pages' favicon;
- ``/logo.png``: at most 144 pixels wide and 400 high, the limits of RSS ``<image>``; also
  Atom ``<logo>``.
"""

from __future__ import annotations

import functools
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).parent / "static"
ICON_SIZE = 512
FAVICON_SIZE = 64
ICO_SIZES = [(16, 16), (32, 32), (48, 48)]
RSS_IMAGE_BOX = (144, 400)  # RSS 2.0: "Maximum value for width is 144 ... for height is 400"
IMAGE_PATHS = ("/icon.png", "/favicon.png", "/favicon.ico", "/logo.png")
MAX_PIXELS = 40_000_000  # a larger "image" is a mistake or an attack, not a logo


@dataclass(frozen=True, slots=True)
class SiteImage:
    """One image as served: its URL path, bytes, media type and size in pixels."""

    path: str
    body: bytes
    media_type: str
    width: int
    height: int


def open_image(path: str, shipped: str) -> Image.Image:
    """The editor's image, or the shipped one when none is set or it cannot be read."""
    if path:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(Path(path).expanduser()) as image:
                    if image.width * image.height > MAX_PIXELS:
                        raise ValueError(f"{image.width}x{image.height} pixels is too large")
                    image.load()
                    return image.convert("RGBA")
        except (OSError, ValueError, Image.DecompressionBombError, Warning) as exc:
            log.warning("image %s unusable (%s); the shipped %s is used", path, exc, shipped)
    with Image.open(SHIPPED / shipped) as image:
        image.load()
        return image.convert("RGBA")


def squared(image: Image.Image) -> Image.Image:
    """A square image: a wide or tall one is centred on a transparent square."""
    side = max(image.size)
    if image.width == image.height:
        return image
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square


def fitted(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    """The image scaled down (never up) to fit in ``box``, keeping its proportions."""
    image = image.copy()
    image.thumbnail(box, Image.Resampling.LANCZOS)
    return image


def png(path: str, image: Image.Image) -> SiteImage:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return SiteImage(path, out.getvalue(), "image/png", image.width, image.height)


@functools.lru_cache(maxsize=4)
def site_images(icon_path: str, logo_path: str) -> dict[str, SiteImage]:
    """Every image the site serves, by URL path."""
    icon = squared(open_image(icon_path, "icon.png"))
    logo = open_image(logo_path, "logo.png")
    ico = io.BytesIO()
    fitted(icon, (48, 48)).save(ico, format="ICO", sizes=ICO_SIZES)
    images = [
        png("/icon.png", fitted(icon, (ICON_SIZE, ICON_SIZE))),
        png("/favicon.png", icon.resize((FAVICON_SIZE, FAVICON_SIZE), Image.Resampling.LANCZOS)),
        SiteImage("/favicon.ico", ico.getvalue(), "image/vnd.microsoft.icon", 48, 48),
        png("/logo.png", fitted(logo, RSS_IMAGE_BOX)),
    ]
    return {image.path: image for image in images}
