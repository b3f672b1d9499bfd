"""The package layering of docs/architecture.md, checked on every import of radio_mm.

Every ``import`` / ``from ... import`` of every module is read (module level and inside
functions: a lazy import is still a dependency), resolved to the radio_mm module it loads, and
checked against :data:`MAY_IMPORT`; the module graph must have no cycle.
"""
import ast
import os
import os.path as osp

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Package -> the other radio_mm packages it may import (the table of docs/architecture.md).
_BASE = {'registry', 'utils', 'version'}
MAY_IMPORT = {
    'version': set(),
    'registry': set(),
    'utils': set(),
    'structures': {'utils'},
    'models': _BASE | {'structures'},
    'formats': _BASE | {'structures', 'models'},
    'datasets': _BASE | {'structures', 'formats'},
    'evaluation': _BASE | {'structures'},
    'visualization': _BASE | {'structures'},
    'deployment': _BASE | {'structures', 'models', 'formats'},
    'analysis': _BASE | {'structures', 'models', 'formats', 'datasets', 'visualization'},
    'engine': _BASE | {'structures', 'models', 'formats', 'datasets', 'evaluation',
                       'visualization'},
    'apis': _BASE | {'structures', 'models', 'formats', 'datasets', 'evaluation',
                     'visualization', 'analysis', 'engine', 'deployment'},
}
# Inside models/: building blocks never import the models built from them (as timm/layers
# never imports timm/models).
MODELS_LEAVES = {'radio_mm.models.utils'}
# Cycles a branch in flight removes (add an entry only with that branch named; a stale entry
# fails below). wt-clean's kernel-packing split removed the last one.
KNOWN_CYCLES = []


def module_files(root):
    """Dotted module name -> file, for every ``.py`` under the package folder ``root``."""
    top = osp.dirname(root)
    modules = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(folder, name)
                dotted = osp.relpath(path, top)[:-3].replace(os.sep, '.')
                modules[dotted.removesuffix('.__init__')] = path
    return modules


def imported_modules(path, module, modules):
    """(line, imported radio_mm module) for every import in the file, lazy ones included."""
    is_package = path.endswith('__init__.py')
    package = module if is_package else module.rpartition('.')[0]
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                source = '.'.join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            # `from pkg import name` loads pkg.name when it is a module, else pkg itself.
            targets = [f'{source}.{a.name}' if f'{source}.{a.name}' in modules else source
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name in a.b
                target = target.rpartition('.')[0]
            if target and target != module:
                found.append((node.lineno, target))
    return sorted(set(found))


def package_of(module):
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else None  # None: radio_mm/__init__.py, the top


def import_graph(root):
    modules = module_files(root)
    return modules, {m: imported_modules(p, m, modules) for m, p in modules.items()}


def _in(module, packages):
    return any(module == p or module.startswith(p + '.') for p in packages)


def layering_violations(root):
    """'file:line: a imports b' for every import the table forbids."""
    modules, graph = import_graph(root)
    violations = []
    for module, imports in sorted(graph.items()):
        ours = package_of(module)
        for line, target in imports:
            theirs = package_of(target)
            where = f'{osp.relpath(modules[module], REPO_ROOT)}:{line}: {module} imports {target}'
            if _in(module, MODELS_LEAVES) and _in(target, {'radio_mm.models'}) and not _in(
                    target, MODELS_LEAVES):
                violations.append(f'{where} (models/utils imports no other part of models)')
            if ours is None or theirs is None or ours == theirs:
                continue  # the top imports everything; a package its own modules
            if ours not in MAY_IMPORT:
                violations.append(f'{where} (package {ours!r} is not in the table)')
            elif theirs not in MAY_IMPORT[ours]:
                violations.append(f'{where} ({ours} may import {sorted(MAY_IMPORT[ours])})')
    return violations


def import_cycles(root):
    """Strongly connected components (more than one module) of the module import graph."""
    _, graph = import_graph(root)
    edges = {m: {t for _, t in imports} for m, imports in graph.items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):  # Tarjan's algorithm, iterative over each node's edges
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return cycles


def test_imports_follow_the_layering():
    violations = layering_violations(osp.join(REPO_ROOT, 'radio_mm'))
    assert not violations, ('imports that break docs/architecture.md:\n' +
                            '\n'.join(violations))


def test_no_import_cycles():
    cycles = import_cycles(osp.join(REPO_ROOT, 'radio_mm'))
    unexpected = [sorted(c) for c in cycles if c not in KNOWN_CYCLES]
    assert not unexpected, f'import cycles: {unexpected}'
    stale = [sorted(c) for c in KNOWN_CYCLES if c not in cycles]
    assert not stale, f'KNOWN_CYCLES entries that are no cycle any more (remove them): {stale}'


def test_docs_table_names_every_package():
    """The table in docs/architecture.md and the one here describe the same packages."""
    with open(osp.join(REPO_ROOT, 'docs', 'architecture.md')) as f:
        text = f.read()
    packages = {package_of(m) for m in module_files(osp.join(REPO_ROOT, 'radio_mm'))} - {None}
    assert packages == set(MAY_IMPORT)
    for package in MAY_IMPORT:
        assert f'`{package}`' in text, f'docs/architecture.md does not describe {package!r}'


@pytest.fixture
def knotted_package(tmp_path):
    """A radio_mm with the knots the checks exist for: a lazy upward import and a circle."""
    root = tmp_path / 'radio_mm'
    files = {
        '__init__.py': '',
        'utils/__init__.py': '',
        'utils/setup.py': 'def f():\n    import radio_mm.models.a  # lazy, still upward\n',
        'models/__init__.py': '',
        'models/a.py': 'from .b import x\n',
        'models/b.py': 'def x():\n    from . import a\n',
        'formats/__init__.py': '',
        'formats/c.py': 'from radio_mm.models import a\n',
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return str(root)


def test_checks_catch_lazy_upward_imports_and_cycles(knotted_package):
    violations = layering_violations(knotted_package)
    assert len(violations) == 1 and 'radio_mm.utils.setup imports radio_mm.models.a' in \
        violations[0]
    assert import_cycles(knotted_package) == [{'radio_mm.models.a', 'radio_mm.models.b'}]
