#!/usr/bin/env bash
# Installs the peer solver for the comparison in benches/peer_spopt.rs: PySAL spopt with PuLP
# (which bundles the CBC solver), in a virtual environment under target/, from PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=target/peer-venv
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "spopt>=0.6" "pulp>=2.7" numpy
"$VENV/bin/python" -c "import spopt, pulp; print('spopt', spopt.__version__, 'pulp', pulp.__version__, 'CBC', pulp.PULP_CBC_CMD().available())"
