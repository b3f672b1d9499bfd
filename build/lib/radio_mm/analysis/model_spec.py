"""Name a model on the command line: a config dict, or a config file and the key inside it.

Analysis tools take any registered backbone, RADIO model or teacher the way configs describe
them, so that what is measured or visualized is exactly what a config would build::

    "dict(type='RADIOViT', arch='b')"                    # a config dict, Python syntax
    configs/distill/radio_demo.py:model.teachers.2       # a key inside a config file
    configs/distill/radio_demo.py                        # the file's ``model``
"""
import copy
import os.path as osp
import warnings

from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from radio_mm.registry import MODELS
from radio_mm.utils import import_toolbox

CONFIG_SUFFIXES = ('.py', '.json', '.yaml', '.yml')


def _select(cfg, key, where):
    """``cfg`` at a dotted ``key``; integer parts index lists (``model.teachers.0``)."""
    node = cfg
    for part in key.split('.'):
        if isinstance(node, (list, tuple)):
            if not part.lstrip('-').isdigit() or not -len(node) <= int(part) < len(node):
                raise KeyError(f'{where}: {part!r} is not an index of a list of {len(node)}')
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            known = sorted(node) if isinstance(node, dict) else type(node).__name__
            raise KeyError(f'{where}: no key {part!r} (available: {known})')
    return node


def load_model_cfg(spec):
    """Config dict and default scope of a model spec (see the module docstring).

    Returns:
        tuple[dict, str]: the model config (a plain dict) and the scope to build it in.
    """
    if isinstance(spec, dict):
        return copy.deepcopy(dict(spec)), 'radio_mm'
    if not isinstance(spec, str) or not spec.strip():
        raise TypeError(f'a model spec is a dict or a string, got {spec!r}')
    text = spec.strip()
    if text.startswith(('dict(', '{')):
        try:
            cfg = Config.fromstring(f'model = {text}', '.py').model
        except Exception as error:
            raise ValueError(f'cannot parse the model spec {text!r} as a config dict: {error}. '
                             "Write it in Python syntax, e.g. \"dict(type='RADIOViT', "
                             "arch='b')\"") from error
        return _plain(cfg), 'radio_mm'
    path, _, key = text.partition(':')
    if not path.endswith(CONFIG_SUFFIXES) or not osp.isfile(path):
        raise FileNotFoundError(
            f'model spec {text!r} is neither a config dict ("dict(type=...)") nor an existing '
            f'config file (optionally followed by ":key", e.g. '
            'configs/distill/radio_demo.py:model.teachers.0)')
    cfg = Config.fromfile(path)
    node = _select(cfg.to_dict(), key or 'model', f'{path}:{key or "model"}')
    if not isinstance(node, dict) or 'type' not in node:
        raise ValueError(f'{path}:{key or "model"} is not a model config (a dict with a type)')
    return _plain(node), cfg.get('default_scope') or 'radio_mm'


def _plain(cfg):
    return cfg.to_dict() if isinstance(cfg, ConfigDict) else copy.deepcopy(dict(cfg))


def build_model(spec, quiet_random_weights=False):
    """Build the model a spec names through the registry (toolbox of its scope imported).

    Args:
        spec (dict | str): see :func:`load_model_cfg`.
        quiet_random_weights (bool): hide the teachers' "random weights" warning, for
            benchmarks where weights do not matter.
    """
    cfg, scope = load_model_cfg(spec)
    import_toolbox(scope)
    with DefaultScope.overwrite_default_scope(scope), warnings.catch_warnings():
        if quiet_random_weights:
            warnings.filterwarnings('ignore', message='.*random weights.*')
        return MODELS.build(cfg)


def describe_spec(spec):
    """A short label for tables: the type and arch of the config."""
    cfg, _ = load_model_cfg(spec)
    arch = cfg.get('arch', cfg.get('model_name', cfg.get('backbone', {}).get('type', '')))
    if isinstance(arch, dict):
        arch = 'custom'
    return f"{cfg['type']}({arch})" if arch else cfg['type']
