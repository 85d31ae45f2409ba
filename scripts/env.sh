# Sourced by the scripts: puts the tools setup.sh installs on PATH.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$ROOT/target/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
