#!/usr/bin/env bash
# Herald's Node.js, for developers and CI alike.
#
#   scripts/node.sh npm ci           run a command with the supported Node first on PATH
#   scripts/node.sh --node 26 npm …  the same with another release line (26 = the version below)
#   source scripts/node.sh           put it on PATH in this shell
#
# The supported runtime is the version in .node-version (Node 24 LTS; the least is in
# package.json "engines"). When the `node` already on PATH is at least that old's minimum
# (NODE_MIN below), it is used as it is. Otherwise the official Linux build, which the npm
# registry serves as the package node-linux-<arch> (no install script), is installed into
# .tools/node-<version>/ (gitignored) and reused on every later run while its version matches.
# The machine's own node (/usr/bin/node) is never touched.

herald_node_main() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local wanted
  wanted="$(tr -d ' \n\r' <"$root/.node-version")"
  local minimum='24.9.0' # keep in step with package.json "engines" and src/runtime.ts
  local -A lines=([24]="$wanted" [26]='26.12.1')

  if [ "${1:-}" = '--node' ]; then
    wanted="${lines[$2]:-$2}"
    minimum="$wanted"
    shift 2
  fi

  herald_version_ge() { # herald_version_ge A B: A >= B, both x.y.z
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
  }

  local current=''
  if command -v node >/dev/null 2>&1; then current="$(node --version 2>/dev/null | tr -d v)"; fi
  local use_current=0
  if [ -n "$current" ] && herald_version_ge "$current" "$minimum"; then
    # Any Node at or past the minimum; with --node, only that exact line.
    if [ "$minimum" != "$wanted" ] || [ "${current%%.*}" = "${wanted%%.*}" ]; then use_current=1; fi
  fi

  if [ "$use_current" = 1 ]; then
    echo "node.sh: using node $current ($(command -v node))" >&2
  else
    local arch
    case "$(uname -m)" in
      x86_64 | amd64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *)
        echo "node.sh: no Node build for $(uname -m); install Node $wanted yourself" >&2
        return 1
        ;;
    esac
    local dir="$root/.tools/node-$wanted"
    if [ ! -x "$dir/bin/node" ] || [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$wanted" ]; then
      echo "node.sh: installing node $wanted into .tools/node-$wanted (found ${current:-no node})" >&2
      rm -rf "$dir"
      mkdir -p "$dir"
      # --prefix: a folder of its own, never the system's node. No lock file or package.json there.
      if ! npm install --global --prefix "$dir" --no-audit --no-fund --loglevel=error \
        "node-linux-$arch@$wanted" >&2; then
        rm -rf "$dir"
        echo "node.sh: could not install node-linux-$arch@$wanted" >&2
        return 1
      fi
      # The package keeps the build in lib/node_modules/node-linux-<arch>/; bin/node links to it.
      if [ ! -x "$dir/bin/node" ]; then
        echo "node.sh: node-linux-$arch@$wanted installed no bin/node" >&2
        return 1
      fi
    else
      echo "node.sh: using node $wanted from .tools/node-$wanted" >&2
    fi
    export PATH="$dir/bin:$PATH"
    # Native builds (node-gyp) use this Node's headers, not the machine's (~/.npmrc may name them).
    local headers="$dir/lib/node_modules/node-linux-$arch"
    if [ -d "$headers/include/node" ]; then export npm_config_nodedir="$headers"; fi
    hash -r
  fi

  if [ "$#" -gt 0 ]; then "$@"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  herald_node_main "$@"
else
  herald_node_main "$@"
fi
