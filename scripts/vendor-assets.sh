#!/usr/bin/env bash
# Re-download the vendored front-end assets at their pinned versions from the
# npm registry and verify them against the committed checksum files.
#
#   scripts/vendor-assets.sh            download, copy into the repo, verify
#   scripts/vendor-assets.sh --check    only verify the files already in the repo
#   scripts/vendor-assets.sh --update-sums
#                                       download, copy, and REWRITE the SHA256SUMS
#                                       files (use only after bumping a version
#                                       below; review the diff and update the
#                                       VENDORED.md files by hand)
#
# Requires: npm (node), tar, sha256sum. Nothing is installed into the repo;
# tarballs are fetched with `npm pack` into a temporary directory.
set -euo pipefail

# --- pinned versions ---------------------------------------------------------
HTMX_VERSION="4.0.1"
UTRECHT_CSS_VERSION="9.0.4"
VOORBEELD_TOKENS_VERSION="7.4.1"
AXE_VERSION="4.14.1"

# npm tarball integrity (sha512, as published by the registry); checked before
# anything is extracted.
declare -A INTEGRITY=(
  ["htmx.org@${HTMX_VERSION}"]="sha512-oF7JgXhDW9UXCy/k1ZYFUQgzu/rm19ORWPSPNL91vPluB2PB9+MV55tyQdH/w7o2EAbTYUG5SDW1R60mdkdqGg=="
  ["@utrecht/component-library-css@${UTRECHT_CSS_VERSION}"]="sha512-gVA7D6GfP9/+fzehkYLSBR+0UPUTA97PZmgvTYQE88lPQhHGMlUk8FjmCpLKRsRC9hAYd32JuF/KzG6fmBfjJA=="
  ["@nl-design-system-unstable/voorbeeld-design-tokens@${VOORBEELD_TOKENS_VERSION}"]="sha512-GNnapAn2mTIzXRcCvs0JMr4Bf9+ivUJ3zFBJLRT1SYpAYm2xPwptVxIM3k4WLJ0c59E9FfxsEBPJluGuAHUVvg=="
  ["axe-core@${AXE_VERSION}"]="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)

# package@version | file inside the tarball (under package/) | destination (repo-relative)
MAPPING=(
  "htmx.org@${HTMX_VERSION}|dist/htmx.min.js|static/vendor/htmx/htmx.min.js"
  "htmx.org@${HTMX_VERSION}|dist/ext/hx-sse.js|static/vendor/htmx/hx-sse.js"
  "@utrecht/component-library-css@${UTRECHT_CSS_VERSION}|dist/index.css|static/vendor/utrecht/component-library-css/index.css"
  "@nl-design-system-unstable/voorbeeld-design-tokens@${VOORBEELD_TOKENS_VERSION}|dist/theme.css|static/vendor/nlds-voorbeeld/theme.css"
  "axe-core@${AXE_VERSION}|axe.min.js|tests/vendor/axe.min.js"
)

# Checksum files (sha256sum -c format, paths relative to the file's directory).
SUM_DIRS=("static/vendor" "tests/vendor")
# -----------------------------------------------------------------------------

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

mode="fetch"
case "${1:-}" in
  "") ;;
  --check) mode="check" ;;
  --update-sums) mode="update" ;;
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
  *) echo "unknown option: $1" >&2; exit 2 ;;
esac

verify() {
  local d rc=0
  for d in "${SUM_DIRS[@]}"; do
    echo "== verifying $d/SHA256SUMS"
    (cd "$d" && sha256sum --strict -c SHA256SUMS) || rc=1
  done
  return $rc
}

if [[ $mode == "check" ]]; then
  verify
  exit $?
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vendor-assets.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Fetch every package once, verify its integrity, extract it.
declare -A EXTRACTED=()
for spec in "${!INTEGRITY[@]}"; do
  echo "== npm pack $spec"
  json="$(cd "$WORK" && npm pack "$spec" --json --silent 2>/dev/null)"
  tgz="$(printf '%s' "$json" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s)[0].filename))')"
  actual="sha512-$(openssl dgst -sha512 -binary "$WORK/$tgz" | base64 -w0)"
  if [[ "$actual" != "${INTEGRITY[$spec]}" ]]; then
    echo "integrity mismatch for $spec: got $actual" >&2
    exit 1
  fi
  dest="$WORK/x/${tgz%.tgz}"
  mkdir -p "$dest"
  tar -xzf "$WORK/$tgz" -C "$dest"
  EXTRACTED[$spec]="$dest/package"
done

for entry in "${MAPPING[@]}"; do
  IFS='|' read -r spec src dst <<<"$entry"
  mkdir -p "$(dirname "$dst")"
  install -m 0644 "${EXTRACTED[$spec]}/$src" "$dst"
  echo "   $spec:$src -> $dst"
done

if [[ $mode == "update" ]]; then
  for d in "${SUM_DIRS[@]}"; do
    (
      cd "$d"
      for entry in "${MAPPING[@]}"; do
        IFS='|' read -r _ _ dst <<<"$entry"
        case "$dst" in "$d"/*) sha256sum "${dst#"$d"/}" ;; esac
      done
    ) >"$d/SHA256SUMS"
    echo "== wrote $d/SHA256SUMS"
  done
fi

verify
