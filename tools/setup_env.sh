#!/usr/bin/env bash
# One idempotent set-up: .venv/ at the repo root (CPython 3.11), every requirement, mmcv 2.1.0
# with its ops, and radio_mm in editable mode. A second run with unchanged requirements only
# checks a stamp and exits in seconds.
#
#   RADIO_MM_WHEELHOUSE=DIR  folder with a prebuilt mmcv-2.1.0 wheel (pip --find-links);
#                            without one, mmcv is built from its sdist (~30 min on 2 cores).
#   RADIO_MM_PYTHON=EXE      the interpreter for the venv (default: python3.11).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
py="${RADIO_MM_PYTHON:-python3.11}"
cache="$root/.cache/wheels"   # mmcv wheels built here, reused by later runs
stamp="$venv/.radio_mm_env"

log() { printf '[setup_env] %s\n' "$*"; }
# Printed on every successful exit: the tools need the venv's python.
activate_hint() { log "activate with 'source .venv/bin/activate' (or run .venv/bin/python, make demo, make test)"; }

want="$(cat requirements/*.txt setup.py tools/setup_env.sh | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
  log "environment up to date ($venv)"
  activate_hint
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  command -v "$py" >/dev/null || { log "error: $py not found; set RADIO_MM_PYTHON to a CPython 3.11"; exit 1; }
  log "creating $venv with $py"
  "$py" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip wheel 'setuptools>=77,<82'

log "installing runtime, test and optional requirements"
"${pip[@]}" install -q -r requirements/runtime.txt -r requirements/tests.txt -r requirements/optional.txt

find_links=()
for d in "${RADIO_MM_WHEELHOUSE:-}" "$cache"; do
  [[ -n "$d" && -d "$d" ]] && find_links+=(--find-links "$d")
done

have_mmcv_wheel() {
  for d in "${RADIO_MM_WHEELHOUSE:-}" "$cache"; do
    [[ -n "$d" ]] && compgen -G "$d/mmcv-2.1.0-*.whl" >/dev/null && return 0
  done
  return 1
}

if ! "$venv/bin/python" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' 2>/dev/null \
    && ! have_mmcv_wheel; then
  log "no mmcv 2.1.0 wheel in a wheelhouse: building it from the sdist."
  log "this takes ~30 minutes on 2 cores (set RADIO_MM_WHEELHOUSE to skip it next time)."
  build="$(mktemp -d)"
  trap 'rm -rf "$build"' EXIT
  # Its setup.py imports pkg_resources, so it runs with the old setuptools (even to read
  # its metadata while downloading), without build isolation; the pin is restored after.
  "${pip[@]}" install -q -r requirements/build.txt
  "${pip[@]}" download -q --no-deps --no-binary :all: --no-build-isolation mmcv==2.1.0 \
    -d "$build"
  tar -xzf "$build"/mmcv-2.1.0.tar.gz -C "$build"
  # torch 2.14's headers need C++20; mmcv 2.1.0's setup.py hard-codes c++14/c++17.
  sed -i -E 's/-std=c\+\+1[47]/-std=c++20/g' "$build/mmcv-2.1.0/setup.py"
  mkdir -p "$cache"
  MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    "${pip[@]}" wheel --no-build-isolation --no-deps -w "$cache" "$build/mmcv-2.1.0"
  "${pip[@]}" install -q 'setuptools>=77,<82'
  find_links+=(--find-links "$cache")
fi

log "installing OpenMMLab toolboxes"
"${pip[@]}" install -q "${find_links[@]}" -r requirements/mminstall.txt
log "installing radio_mm (editable)"
"${pip[@]}" install -q --no-build-isolation --no-deps -e .

"$venv/bin/python" -c 'import radio_mm, mmcv.ops, mmseg, mmdet, mmpretrain, open_clip, segment_anything'
echo "$want" > "$stamp"
log "done"
activate_hint
