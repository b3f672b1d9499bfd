from .layer_decay_optim_constructor import LayerDecayOptimizerConstructor  # noqa: F401
