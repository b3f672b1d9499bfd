"""Names the frozen classifiers look up in ``radio_mm.registry.FUNCTIONS``.

:mod:`radio_mm.formats.radio_checkpoint_keys` registers the function under this name
(models never import file formats). A leaf module that imports no toolbox, so that
``radio_mm.formats`` imports without mmpretrain installed (``pip install radio_mm`` without
``[cls]``), as :mod:`radio_mm.models.classifiers` promises.
"""
# The load-state-dict pre-hook that reads a RADIO student file into these classifiers.
RADIO_MODEL_KEYS_HOOK = 'adopt_radio_model_keys'
