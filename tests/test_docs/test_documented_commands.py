"""Every shell command the READMEs and docs show runs as written, or at least parses.

Each command is checked the way it would start: its script exists, its flags pass the
script's own ``argparse``, and for ``tools/train.py``/``tools/test.py`` (directly or through
``dist_train.sh``/``dist_test.sh``/``slurm_train.sh``) the config loads with its
``--cfg-options`` applied. Model specs (``configs/x.py:model.teachers.0``, ``"dict(...)"``)
resolve. A few quick ones that need no download really run. Usage lines with placeholders
(``CONFIG``, ``[...]``) only need their scripts to exist.
"""
import os
import os.path as osp
import re
import subprocess
import sys
from unittest import mock

import pytest
from doc_commands import documented_commands
from script_loader import load_script

from radio_mm.analysis.model_spec import load_model_cfg
from radio_mm.apis.run_config import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COMMANDS = documented_commands(REPO)
RUNNABLE = [c for c in COMMANDS if not c.is_synopsis and not c.is_fragment]
FRAGMENTS = [c for c in COMMANDS if c.is_fragment]
SYNOPSES = [c for c in COMMANDS if c.is_synopsis]
# Quick, offline and download-free: these run for real.
RUN_FOR_REAL = [
    'python tools/analysis_tools/benchmark.py '
    '--model configs/distill/radio_demo.py:model.teachers.0 --resolution 256 --device cpu',
]
# shell launcher -> (python tool, how many of its own positional args precede the tool's)
LAUNCHERS = {
    'tools/dist_train.sh': ('tools/train.py', lambda a: ([a[0]], a[2:])),  # CONFIG GPUS
    'tools/dist_test.sh': ('tools/test.py', lambda a: (a[:2], a[3:])),  # CONFIG CKPT GPUS
    'tools/slurm_train.sh': ('tools/train.py', lambda a: ([a[2]], a[3:])),  # PART JOB CONFIG
}
MODEL_SPEC = re.compile(r'^(dict\(.*|\S+\.py:\S+)$')


def parse_tool_args(script, args):
    """The tool's own argparse on ``args``; a usage error fails with argparse's message."""
    module = load_script(osp.join(REPO, script))
    with mock.patch.object(sys, 'argv', [script, *args]), mock.patch.dict(os.environ):
        try:
            return module.parse_args()
        except SystemExit as exit_:
            pytest.fail(f'{script} rejects {args}: exit {exit_.code}')


def arg_values(namespace):
    for value in vars(namespace).values():
        yield from (value if isinstance(value, (list, tuple)) else [value])


def check_python_tool(script, args):
    assert osp.isfile(osp.join(REPO, script)), f'{script} does not exist'
    parsed = parse_tool_args(script, args)
    if script in ('tools/train.py', 'tools/test.py'):
        load_config(parsed.config, cfg_options=parsed.cfg_options)
    for value in arg_values(parsed):
        if isinstance(value, str) and MODEL_SPEC.match(value):
            load_model_cfg(value)
    config = getattr(parsed, 'config', None)
    if isinstance(config, str) and script not in ('tools/train.py', 'tools/test.py'):
        load_config(config)
    return parsed


def check_command(argv):
    program, args = argv[0], argv[1:]
    if program == 'make':
        with open(osp.join(REPO, 'Makefile')) as f:
            targets = re.findall(r'^([\w-]+):', f.read(), re.M)
        assert set(args) <= set(targets), f'Makefile has no target {set(args) - set(targets)}'
    elif program == 'source':
        assert args == ['.venv/bin/activate'], args
        with open(osp.join(REPO, 'tools', 'setup_env.sh')) as f:
            assert 'venv="$root/.venv"' in f.read(), 'setup_env.sh no longer creates .venv'
    elif program in ('python', 'python3'):
        check_python_tool(args[0], args[1:])
    elif program == 'torchrun':  # torchrun's own --options, then the tool and its args
        while args[0].startswith('--'):
            args = args[1:] if '=' in args[0] else args[2:]
        check_python_tool(args[0], args[1:])
    else:
        script = args[0] if program == 'bash' else program
        rest = args[1:] if program == 'bash' else args
        assert script in LAUNCHERS, f'no check for {script}'
        tool, split = LAUNCHERS[script]
        positional, passed_on = split(rest)
        check_python_tool(tool, [*positional, *passed_on])


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def test_commands_are_found():
    pages = {c.page for c in COMMANDS}
    assert {'README.md', 'configs/detection/README.md', 'docs/tools.md'} <= pages
    assert len(RUNNABLE) >= 30
    for text in RUN_FOR_REAL:
        assert text in [c.text.split('#')[0].strip() for c in RUNNABLE], text


@pytest.mark.parametrize('command', RUNNABLE, ids=lambda c: f'{c.page}:{c.line}')
def test_documented_command_parses(command, in_repo):
    check_command(command.argv)


@pytest.mark.parametrize('fragment', FRAGMENTS, ids=lambda c: f'{c.page}:{c.line}')
def test_documented_options_apply_to_the_page_configs(fragment, in_repo):
    """An options fragment in configs/<task>/README.md applies to every config there."""
    folder = osp.dirname(fragment.page)
    configs = sorted(f for f in os.listdir(osp.join(REPO, folder)) if f.endswith('.py'))
    assert configs, f'{fragment}: no configs beside the page'
    for config in configs:
        check_python_tool('tools/train.py', [osp.join(folder, config), *fragment.argv])


@pytest.mark.parametrize('synopsis', SYNOPSES, ids=lambda c: f'{c.page}:{c.line}')
def test_usage_lines_name_existing_tools(synopsis):
    scripts = [w for w in synopsis.argv if re.match(r'^(tools|benchmarks)/\S+\.(py|sh)$', w)]
    assert scripts, synopsis
    for script in scripts:
        assert osp.isfile(osp.join(REPO, script)), f'{synopsis}: {script} does not exist'


def test_detection_readme_pretrained_options_apply_to_every_detection_config(in_repo):
    """``init_cfg=None`` in the base made these options a TypeError (issue 11, item 9)."""
    folder = 'configs/detection'
    for config in sorted(f for f in os.listdir(folder) if f.endswith('.py')):
        cfg = load_config(osp.join(folder, config), cfg_options={
            'model.backbone.init_cfg.type': 'Pretrained',
            'model.backbone.init_cfg.checkpoint': 'checkpoints/radio_b.pth'})
        assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                                   checkpoint='checkpoints/radio_b.pth')


@pytest.mark.parametrize('text', RUN_FOR_REAL)
def test_quick_documented_commands_run(text, python):
    proc = subprocess.run([python, *text.split()[1:]], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


def test_readme_activates_the_environment_before_any_python_command():
    """A new user's ``python`` is not the set-up's: README says how to get it (item 13)."""
    readme = [c for c in COMMANDS if c.page == 'README.md']
    programs = [c.argv[0] for c in readme]
    assert 'source' in programs, 'README.md never shows `source .venv/bin/activate`'
    first_python = min((i for i, p in enumerate(programs) if p.startswith('python')),
                       default=len(programs))
    assert programs.index('source') < first_python
