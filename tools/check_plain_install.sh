#!/usr/bin/env bash
# `pip install .` into a fresh virtualenv (setup.py's install_requires only: no mmcv, mmseg,
# mmdet or mmpretrain), then tests/plain_install/check_plain_install.py: radio_model(), the
# students and the distiller import and run, and each task part names the extra to install.
# CI runs it after the suite; wheels come from pip's cache after `make test`'s set-up.
#   RADIO_MM_PYTHON=EXE  the interpreter for the venv (default: python3.11)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(mktemp -d)/plain"
trap 'rm -rf "$(dirname "$venv")"' EXIT
"${RADIO_MM_PYTHON:-python3.11}" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$root"
cd "$root"  # the check reads tests/data; radio_mm itself comes from the venv's site-packages
(cd / && "$venv/bin/python" -c 'import radio_mm; assert "site-packages" in radio_mm.__file__, radio_mm.__file__')
"$venv/bin/python" tests/plain_install/check_plain_install.py
echo "[check_plain_install] radio_mm installs and runs without the OpenMMLab toolboxes"
