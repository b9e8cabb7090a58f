#!/usr/bin/env bash
# The peers of bench/serve.sh, installed from the registries (Debian, PyPI), pinned to the versions
# BENCHMARKS.md "Serving" was measured with. Idempotent: a venv that imports is kept.
#
#   bench/serve/setup.sh            (all: wrk, serve-peers, mlserver, bentoml)
#   bench/serve/setup.sh mlserver   (one of them)
set -euo pipefail
C=$HOME/.cache
want() { [[ $# -eq 0 || " ${WANT:-} " == *" $1 "* || -z ${WANT:-} ]]; }
WANT="$*"

venv() { # dir import-check packages...
  local dir=$1 check=$2
  shift 2
  if [[ -x $dir/bin/python ]] && "$dir/bin/python" -c "$check" 2>/dev/null; then
    echo "$dir: ready"
    return
  fi
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --upgrade pip
  "$dir/bin/pip" install -q "$@"
  "$dir/bin/python" -c "$check"
  echo "$dir: installed"
}

if want wrk && ! command -v wrk >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is missing: apt-get install wrk (as root)" >&2
  fi
fi
if want serve-peers; then
  venv "$C/smelt-serve-peers" "import fastapi, uvicorn, lightgbm, sklearn, pyarrow" \
    "fastapi==0.165.*" "uvicorn==0.55.*" "lightgbm==4.7.0" "scikit-learn==1.9.1" pandas pyarrow
fi
if want mlserver; then
  venv "$C/smelt-mlserver" "import mlserver, mlserver_lightgbm" "mlserver==1.7.1" "mlserver-lightgbm==1.7.1" "lightgbm==4.7.0"
fi
if want bentoml; then
  venv "$C/smelt-bentoml" "import bentoml, lightgbm" "bentoml==1.4.40" "lightgbm==4.7.0"
fi
