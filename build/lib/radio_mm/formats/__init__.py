"""File formats: how radio_mm's objects are laid out on disk, read and written.

* :mod:`.official_checkpoint`: NVIDIA's release layout (``args`` + ``base_model.*`` ...);
* :mod:`.official_releases`: the published release names and URLs;
* :mod:`.radio_checkpoint`: every file that holds a RADIO student, read one way;
* :mod:`.radio_checkpoint_keys`: a RADIO student file loaded into a frozen classifier;
* :mod:`.eradio_release`: the E-RADIO students of the releases -> ERADIO configs;
* :mod:`.teacher_cache`: the on-disk teacher cache (shards and manifest).

Model code (:mod:`radio_mm.models`) never imports this package; the loaders it needs are
registered here and found through :data:`radio_mm.registry.FUNCTIONS`
(docs/architecture.md).
"""
# Importing the package registers the loaders in FUNCTIONS (the registry's location).
from . import radio_checkpoint, radio_checkpoint_keys, teacher_cache  # noqa: F401,E402
