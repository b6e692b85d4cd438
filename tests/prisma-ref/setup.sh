#!/usr/bin/env bash
# setup.sh DIR — install the offline Prisma reference (CLI 7.10.1 and the
# WebAssembly schema engine behind a stand-in for the native `schema-engine`
# binary) into DIR, at the versions package.json pins. Afterwards, from DIR:
#   export PRISMA_SCHEMA_ENGINE_BINARY=$DIR/schema-engine DATABASE_URL=...
#   npx prisma migrate diff --from-empty --to-schema prisma/schema.prisma --script
#   DATABASE_URL=... node se.mjs diff --from db --to schema:PATH --script
# The tests drive it with oracle.mjs (see README.md); install.sh runs this
# only when DIR lacks it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:?usage: setup.sh DIR}"
mkdir -p "$dir/prisma"
cp "$here/package.json" "$here/se.mjs" "$here/oracle.mjs" "$here/schema-engine" "$here/prisma.config.ts" "$dir/"
[ -f "$dir/prisma/schema.prisma" ] || printf 'datasource db {\n  provider = "postgresql"\n}\n' > "$dir/prisma/schema.prisma"
chmod +x "$dir/schema-engine"
cd "$dir"
npm install --no-audit --no-fund --ignore-scripts >/dev/null
echo "prisma reference ready in $dir"
