#!/usr/bin/env bash
# install.sh — make sure the Prisma reference the tests compare with is
# installed in ${PRISMA_REF_DIR:-$HOME/.cache/impulse-db/prisma-ref}: does
# nothing when the pinned versions are already there, otherwise installs them
# from the npm registry with setup.sh. Idempotent; safe to run before every
# test run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${PRISMA_REF_DIR:-$HOME/.cache/impulse-db/prisma-ref}"
command -v node >/dev/null || { echo "install.sh: node (>= 20) is required (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
installed() {
  [ -f "$dir/node_modules/prisma/build/schema_engine_bg.wasm" ] || return 1
  node -e '
    const [dir, pkg] = process.argv.slice(1);
    const want = require(pkg).dependencies;
    for (const [name, version] of Object.entries(want)) {
      let have;
      try { have = require(`${dir}/node_modules/${name}/package.json`).version; } catch { process.exit(1); }
      if (have !== version) process.exit(1);
    }' "$dir" "$here/package.json"
}
if installed; then
  echo "prisma reference already installed in $dir"
  exit 0
fi
bash "$here/setup.sh" "$dir"
installed || { echo "install.sh: $dir still lacks the pinned versions" >&2; exit 1; }
