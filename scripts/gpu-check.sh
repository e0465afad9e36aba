#!/usr/bin/env bash
# The whole GPU verification in one command of a few minutes, on a bare GPU
# machine (CUDA toolkit and PyTorch, no Node.js, no network), from the root of
# a copy of the working tree plus the folder scripts/gpu-prepare.sh wrote:
# unpacks the bundled node, runs the backend-ops suite (every op on CUDA
# against the CPU), the model parity tests and the other CUDA tests with the
# prebuilt addon, benchmarks our kernels against PyTorch on the same GPU, and
# writes ONE JSON report: $OUT/gpu-report.json when OUT is set, else
# ./gpu-report.json. Exits 0 when every suite passed.
#
# Usage: scripts/gpu-check.sh [--dry-run] [--bundle DIR] [--only REGEX]
#   --dry-run   exercise the same plumbing on a machine without a GPU (CUDA
#               cases skip, GPU figures are null, PyTorch is not run)
#   --bundle    the prepared folder (default .gpu-bundle)
#   --only      run only the suites whose names match REGEX (benches too)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

dry_run=0
bundle=.gpu-bundle
only=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --bundle | --only)
      [[ $# -ge 2 ]] || { echo "gpu-check: $1 needs a value" >&2; exit 2; }
      [[ $1 == --bundle ]] && bundle=$2 || only=$2
      shift
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "gpu-check: $*"; }
die() { echo "gpu-check: $*" >&2; exit 1; }

[[ -f $bundle/manifest.json ]] || die "no bundle at $bundle: run scripts/gpu-prepare.sh on a machine with Node.js first"
bundle=$(cd "$bundle" && pwd)
report=${OUT:+$OUT/gpu-report.json}
report=${report:-$root/gpu-report.json}

work=$(mktemp -d "${TMPDIR:-/tmp}/tg-gpu-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

# xz-utils is on nearly every system; Python's lzma module decodes the same format.
unxz_to() {
  if command -v xz > /dev/null; then
    xz -dc "$1" > "$2"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

say "unpacking node from $bundle"
mkdir -p "$work/bin"
unxz_to "$bundle/node.xz" "$work/bin/node"
chmod +x "$work/bin/node"
if [[ -n $(ls -A "$bundle/lib" 2> /dev/null) ]]; then
  export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export PATH="$work/bin:$PATH"
node --version > /dev/null || die "the bundled node does not run here"

# A copy of the working tree has neither of these (both are ignored); a
# development checkout has its own, which are used as they are. The dry run
# still unpacks both archives, to a scratch folder, to prove they are whole.
sources=()
for part in dist node_modules; do
  if [[ -e $part ]]; then
    sources+=("$part=checkout")
    if [[ $dry_run == 1 ]]; then
      mkdir -p "$work/unpack"
      unxz_to "$bundle/$part.tar.xz" "$work/$part.tar"
      tar -C "$work/unpack" -xf "$work/$part.tar"
      rm -f "$work/$part.tar"
    fi
  else
    say "unpacking $part/ from the bundle"
    unxz_to "$bundle/$part.tar.xz" "$work/$part.tar"
    tar -C "$root" -xf "$work/$part.tar"
    rm -f "$work/$part.tar"
    sources+=("$part=bundle")
  fi
done
if [[ $dry_run == 1 ]]; then
  [[ -f $work/unpack/dist/index.js && -f $work/unpack/node_modules/uvu/package.json ]] ||
    die "the bundle's dist/ or node_modules/ archive is incomplete"
fi

mkdir -p "$(dirname "$report")"
args=(--addon "$bundle/tensorgraft.node" --bundle "$bundle" --report "$report" --sources "${sources[*]}")
[[ $dry_run == 1 ]] && args+=(--dry-run)
[[ -n $only ]] && args+=(--only "$only")
status=0
node scripts/gpu-check/check.mjs "${args[@]}" || status=$?
[[ -f $report ]] || die "no report was written"
say "report: $report"
exit "$status"
