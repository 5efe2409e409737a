"""QR codes for authenticator setup, drawn on the server as SVG (no third-party requests)."""

import base64

import qrcode
from qrcode.image.svg import SvgPathFillImage


def qr_code_data_uri(text: str) -> str:
    """Return a `data:image/svg+xml;base64,...` URI of a QR code holding `text`.

    The page embeds it in an <img>, which the Content-Security-Policy allows
    (img-src 'self' data:); the white background keeps it scannable on a dark theme.
    """
    image = qrcode.make(text, image_factory=SvgPathFillImage, box_size=10, border=4)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
