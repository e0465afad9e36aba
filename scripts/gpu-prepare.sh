#!/usr/bin/env bash
# Prepares, on a development machine with nvcc, everything scripts/gpu-check.sh
# needs on a bare GPU machine (CUDA toolkit and PyTorch, no Node.js, no
# network), in one ignored folder that travels with a copy of the working tree:
#
#   .gpu-bundle/node.xz             this machine's node binary, xz-compressed
#   .gpu-bundle/lib/                shared libraries node needs beyond glibc
#   .gpu-bundle/tensorgraft.node    the addon built for sm_90a (H100 / H200)
#   .gpu-bundle/dist.tar.xz         the compiled TypeScript (dist/)
#   .gpu-bundle/node_modules.tar.xz the packages dist/ and the tests import
#   .gpu-bundle/manifest.json       what was bundled, from where
#
# Usage: scripts/gpu-prepare.sh [--dry-run] [--bundle DIR]
#   --dry-run   skip the CUDA build and bundle the addon already built
#               ($TG_ADDON, else build/Release/tensorgraft.node), compressing
#               fast: exercises the plumbing where there is no nvcc (CI)
#   --bundle    where to write the bundle (default .gpu-bundle)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

dry_run=0
bundle=.gpu-bundle
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --bundle)
      [[ $# -ge 2 ]] || { echo "gpu-prepare: --bundle needs a folder" >&2; exit 2; }
      bundle=$2
      shift
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *) echo "gpu-prepare: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "gpu-prepare: $*"; }
die() { echo "gpu-prepare: $*" >&2; exit 1; }

node_bin=$(command -v node) || die "node is not on PATH"
command -v xz > /dev/null || die "xz is not installed (apt-get install xz-utils)"
# Well under the 64 MiB a working tree may carry, leaving room for the sources.
max_bytes=$((56 * 1024 * 1024))
# Level 6 takes a minute for node once; the dry run only needs a valid archive.
xz_level=$([[ $dry_run == 1 ]] && echo 0 || echo 6)

# ---- the addon ---------------------------------------------------------------
if [[ $dry_run == 1 ]]; then
  addon=${TG_ADDON:-build/Release/tensorgraft.node}
  [[ -f $addon ]] || die "dry run: no addon at $addon (build one first: npx cmake-js build)"
  say "dry run: bundling the existing addon $addon"
else
  command -v nvcc > /dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] || die "nvcc not found: the GPU build needs the CUDA toolkit"
  say "building the addon for sm_90a in build-gpu/ (incremental)"
  # The a-suffixed target gives the Hopper-only instructions; it runs on sm_90 parts only.
  TG_CUDA=ON TG_CUDA_ARCHS=90a npx cmake-js build --out build-gpu
  addon=build-gpu/Release/tensorgraft.node
  [[ -f $addon ]] || die "the build did not produce $addon"
fi

# The addon must load here (no GPU needed: the CUDA runtime is linked statically).
TG_ADDON=$addon EXPECT_SM90=$((1 - dry_run)) "$node_bin" -e '
  const info = require(require("node:path").resolve(process.env.TG_ADDON)).buildInfo();
  if (process.env.EXPECT_SM90 === "1" && !(info.cuda.compiled && info.cuda.architectures.includes(90))) {
    console.error("gpu-prepare: the addon was not built for sm_90: " + JSON.stringify(info.cuda));
    process.exit(1);
  }
' || die "the addon at $addon does not load"

# ---- dist/ -------------------------------------------------------------------
if [[ $dry_run == 0 ]]; then
  say "compiling the TypeScript (npx tsc -p .)"
  npx tsc -p .
fi
[[ -f dist/index.js ]] || die "dist/ is missing: run npx tsc -p ."

# ---- assemble ------------------------------------------------------------------
mkdir -p "$(dirname "$bundle")"
tmp=$(mktemp -d "${bundle%/}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"  # mktemp makes it private; the bundle is for whoever runs the check

cp "$addon" "$tmp/tensorgraft.node"
tar -C "$root" -cf - dist | xz -T0 "-$xz_level" > "$tmp/dist.tar.xz"
# TypeScript and the type declarations are only needed to compile; the rest
# (the runtime dependencies, uvu for the tests) is small once compressed.
tar -C "$root" --exclude=node_modules/typescript --exclude=node_modules/@types --exclude=node_modules/.cache \
  -cf - node_modules | xz -T0 "-$xz_level" > "$tmp/node_modules.tar.xz"

say "compressing $node_bin ($("$node_bin" --version)) with xz -$xz_level"
xz -T0 "-$xz_level" -c "$node_bin" > "$tmp/node.xz"

# Every shared library node links, except glibc's own, which must match the
# target's loader (a bare Ubuntu or Debian has them). Debian's node links
# libnode, libuv, ICU, OpenSSL and more; the official binaries link only glibc
# and libstdc++, which is bundled anyway: a newer one serves older programs.
# (A static node has nothing to bundle; ldd then fails, which is fine.)
mkdir -p "$tmp/lib"
{ ldd "$node_bin" || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | libresolv.so.* | ld-linux*) ;;
    *) cp -L "$lib" "$tmp/lib/" ;;
  esac
done

"$node_bin" -e '
  const [out, dryRun, nodeBin, addon] = process.argv.slice(1);
  const fs = require("node:fs");
  const files = {};
  for (const f of fs.readdirSync(out)) {
    const st = fs.statSync(out + "/" + f);
    files[f] = st.isDirectory() ? fs.readdirSync(out + "/" + f) : st.size;
  }
  const manifest = {
    created: new Date().toISOString(),
    dryRun: dryRun === "1",
    node: { version: process.version, from: nodeBin },
    addon: { from: addon },
    files,
  };
  fs.writeFileSync(out + "/manifest.json", JSON.stringify(manifest, null, 2) + "\n");
' "$tmp" "$dry_run" "$node_bin" "$addon"

bytes=$(du -sb "$tmp" | cut -f1)
((bytes <= max_bytes)) || die "the bundle is $bytes bytes, over the $max_bytes allowed"

rm -rf "$bundle"
mv "$tmp" "$bundle"
trap - EXIT
say "wrote $bundle ($((bytes / 1024 / 1024)) MiB)"
