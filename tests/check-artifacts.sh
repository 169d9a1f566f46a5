#!/usr/bin/env bash
# Builds the Lambda zips through `metering-gen gen` into two scratch trees and in a clean clone
# at another path, and checks that they are reproducible, hold an executable `bootstrap` for the
# architecture the functions declare, match their .sha256 files, and need no glibc newer than
# 2.34 (Lambda provided.al2023).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=build/artifacts-check
rm -rf "$scratch"
for run in a b; do
  cargo run --quiet --locked -p metering-gen --no-default-features -- gen --out "$scratch/$run" >/dev/null
done
status=0
for zip in "$scratch"/a/artifacts/*.zip; do
  name=$(basename "$zip")
  other="$scratch/b/artifacts/$name"
  if ! cmp -s "$zip" "$other"; then echo "FAIL $name: two builds differ"; status=1; fi
  (cd "$(dirname "$zip")" && sha256sum --quiet -c "$name.sha256") || { echo "FAIL $name: sha256 file does not match"; status=1; }
  listing=$(python3 -c 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(" ".join(f"{i.filename}:{i.external_attr>>16&0o777:o}" for i in z.infolist()))' "$zip")
  [ "$listing" = "bootstrap:755" ] || { echo "FAIL $name: entries are '$listing', want 'bootstrap:755'"; status=1; }
  python3 -c 'import sys,zipfile; open(sys.argv[2],"wb").write(zipfile.ZipFile(sys.argv[1]).read("bootstrap"))' "$zip" "$scratch/bootstrap"
  # The ELF machine must be the architecture the functions declare (x86_64 → EM_X86_64 = 62,
  # arm64 → EM_AARCH64 = 183; ELF specification, e_machine at offset 18).
  declared=$(grep -o 'architectures *= *\["[a-z0-9_]*"\]' "$scratch/a/modules/lambda_function/main.tf" | grep -o '"[a-z0-9_]*"' | tr -d '"')
  machine=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(20); assert d[:4]==b"\x7fELF", "not an ELF file"; print(int.from_bytes(d[18:20], "little" if d[5]==1 else "big"))' "$scratch/bootstrap")
  case "$declared:$machine" in
    x86_64:62|arm64:183) ;;
    *) echo "FAIL $name: bootstrap's ELF machine is $machine, the functions declare architectures = [\"$declared\"]"; status=1 ;;
  esac
  newest=$(objdump -T "$scratch/bootstrap" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
  if [ "$(printf '%s\nGLIBC_2.34\n' "$newest" | sort -V | tail -1)" != "GLIBC_2.34" ]; then
    echo "FAIL $name: needs $newest, Lambda provided.al2023 has GLIBC_2.34"; status=1
  fi
  echo "$name: $(stat -c %s "$zip") bytes, ELF machine $machine ($declared), newest glibc symbol $newest"
done
[ -n "$(ls "$scratch"/a/artifacts/*.zip 2>/dev/null)" ] || { echo "FAIL: no zip was built"; status=1; }
# Reproducible across checkouts: a clean clone at another path (another length, too) builds
# byte-identical zips. It builds from HEAD, so it needs the build inputs committed.
inputs=(lambdas Cargo.toml Cargo.lock generator/src/artifacts.rs)
if [ -n "$(git status --porcelain -- "${inputs[@]}")" ]; then
  echo "SKIP reproducibility across checkouts: uncommitted changes in ${inputs[*]}; commit them for this check"
else
  clone="$PWD/build/repro/a/checkout/at/another/path"
  rm -rf build/repro && git clone --quiet . "$clone"
  (cd "$clone" && cargo run --quiet --locked -p metering-gen --no-default-features -- gen --out "$clone/build/tree" >/dev/null)
  for zip in "$scratch"/a/artifacts/*.zip; do
    name=$(basename "$zip")
    if cmp -s "$zip" "$clone/build/tree/artifacts/$name"; then
      echo "$name: byte-identical when built in $clone"
    else
      echo "FAIL $name: a clean clone at another path built different bytes"; status=1
    fi
  done
fi
# A full `gen` writes the same tree as the committed one.
diff -r -x artifacts terraform "$scratch/a" >/dev/null || { echo "FAIL: gen wrote a tree that differs from terraform/"; status=1; }
if [ $status -eq 0 ]; then echo "artifacts check: all zips good"; fi
exit $status
