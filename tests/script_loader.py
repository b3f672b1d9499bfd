"""Import a tool or benchmark script by its path: they are files to run, not package modules
(``tools/`` and ``benchmarks/`` are not on ``sys.path``)."""
import importlib.util
import os.path as osp
import re

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_script(path):
    """The module of the script at ``path`` (absolute, or relative to the repository)."""
    path = osp.join(REPO_ROOT, path)
    name = 'script_' + re.sub(r'\W', '_', osp.relpath(path, REPO_ROOT))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
