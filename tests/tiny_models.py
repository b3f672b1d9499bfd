"""Tiny students of the real architectures for tests: random init, toy sizes, config dicts.

Tests build them with ``MODELS.build`` (or pass them as a ``backbone=``), changing only what
the test is about through keyword arguments.
"""

TINY_ERADIO_ARCH = dict(stem_channels=8, base_channels=8, depths=(1, 1, 1, 1),
                        num_heads=(1, 1, 2, 2), window_sizes=(None, None, 2, 2),
                        sr_ratios=(1, 1, (2, 1), 1), neck_channels=32)


def tiny_vit_arch(embed_dims=32, num_layers=2, num_heads=2, **arch):
    """A RADIOViT ``arch`` dict: ``embed_dims`` wide, ``num_layers`` blocks."""
    return dict(embed_dims=embed_dims, num_layers=num_layers, num_heads=num_heads, **arch)


def tiny_vit(embed_dims=32, num_layers=2, num_heads=2, **kwargs):
    """A RADIOViT config; ``kwargs`` go to RADIOViT (``cpe_max_size``, ``window_size``...)."""
    return dict(type='RADIOViT', arch=tiny_vit_arch(embed_dims, num_layers, num_heads),
                **kwargs)


def tiny_eradio(**kwargs):
    """An ERADIO config of four one-block levels whose attention windows are 2 tokens (with
    2x subsampling at stride 16, so maps tile at multiples of 64 px); ``kwargs`` go to
    ERADIO."""
    return dict(type='ERADIO', arch=dict(TINY_ERADIO_ARCH), **kwargs)


def tiny_radio_model(backbone=None, **kwargs):
    """A RADIOModel config around ``backbone`` (default :func:`tiny_vit`)."""
    return dict(type='RADIOModel', backbone=backbone or tiny_vit(), **kwargs)
