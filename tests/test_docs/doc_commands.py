"""The shell commands that README.md, configs/*/README.md and docs/*.md show a user.

A command is a line of a fenced code block marked ``bash``/``sh``/``shell`` or unmarked,
that starts with ``python``, ``bash``, ``tools/``, ``make`` or an environment assignment
(``GPUS=16 tools/slurm_train.sh ...``), with its ``\\``-continued lines joined and its
trailing ``# comment`` dropped. A line starting with ``--`` is a fragment of options for the
commands of the same page (the segmentation README's ``--cfg-options ...``).
"""
import glob
import os.path as osp
import re
import shlex
from typing import NamedTuple

FENCE = re.compile(r'^\s*```\s*(\w*)\s*$')
SHELL_LANGUAGES = ('', 'bash', 'sh', 'shell', 'console')
COMMAND_START = re.compile(r'^(python3?|bash|make|tools/|benchmarks/|source|torchrun|[A-Z_]+=\S+ )')
# Words that mark a synopsis (usage line), not a command to run as written: CONFIG, [...],
# work_dirs/.../x.pth
PLACEHOLDER = re.compile(r'^([A-Z][A-Z_]{2,}|\[.*|.*\.\.\..*)$')


class DocCommand(NamedTuple):
    page: str  # relative to the repository root
    line: int  # 1-based line of the command's first line
    text: str  # the command with continuations joined

    @property
    def argv(self):
        """The words of the command without leading environment assignments."""
        words = shlex.split(self.text, comments=True)
        while words and re.match(r'^[A-Z_]+=', words[0]):
            words.pop(0)
        return words

    @property
    def is_synopsis(self):
        """A usage line with placeholders (CONFIG, [...], ...), not runnable as written."""
        return any(PLACEHOLDER.match(word) for word in self.argv[1:])

    @property
    def is_fragment(self):
        return self.text.startswith('--')

    def __str__(self):
        return f'{self.page}:{self.line}: {self.text}'


def documented_pages(repo_root):
    pages = ['README.md', *sorted(glob.glob(osp.join(repo_root, 'configs', '*', 'README.md'))),
             *sorted(glob.glob(osp.join(repo_root, 'docs', '*.md')))]
    return [osp.relpath(osp.join(repo_root, p), repo_root) for p in pages]


def shell_lines(path):
    """(line number, text) of every line inside a shell (or unmarked) fenced block."""
    in_block, shell = False, False
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fence = FENCE.match(line)
            if fence:
                in_block, shell = (not in_block,
                                   not in_block and fence.group(1) in SHELL_LANGUAGES)
                continue
            if in_block and shell:
                yield number, line.rstrip('\n')


def page_commands(repo_root, page):
    """The commands (and option fragments) of one page, in order."""
    commands, pending = [], None
    for number, line in shell_lines(osp.join(repo_root, page)):
        text = line.strip()
        if pending is not None:
            start, parts = pending
            parts.append(text.rstrip('\\').strip())
            if not text.endswith('\\'):
                commands.append(DocCommand(page, start, ' '.join(parts)))
                pending = None
            continue
        if not (COMMAND_START.match(text) or text.startswith('--')):
            continue
        if text.endswith('\\'):
            pending = (number, [text.rstrip('\\').strip()])
        else:
            commands.append(DocCommand(page, number, text))
    return commands


def documented_commands(repo_root):
    return [c for page in documented_pages(repo_root) for c in page_commands(repo_root, page)]
