from . import adaptors, backbones, distillers, heads, losses, necks, teachers  # noqa: F401
