#!/usr/bin/env bash
# Runs checkov over every generated tree: zero failed checks, zero parsing errors.
# Skips are inline at the resource (#checkov:skip=ID:reason), never a global list;
# each must carry a reason.
set -euo pipefail
checkov=${1:?usage: checkov.sh CHECKOV_BIN}
cd "$(dirname "$0")/.."

status=0
bare=$(grep -rnE '#checkov:skip=[A-Z0-9_]+(:.{0,20})?$' terraform tests/golden --include=*.tf || true)
if [[ -n $bare ]]; then
  echo "checkov skips without a reason:"; echo "$bare"; status=1
fi

# A golden tree holds only what its context changes: checkov reads each as a whole tree,
# `terraform/` with the golden files in place of its own.
whole=build/checkov-trees
rm -rf "$whole"
trees=(terraform)
for golden in tests/golden/*/; do
  name=$(basename "$golden")
  mkdir -p "$whole/$name"
  (cd terraform && find . -path ./artifacts -prune -o -path ./.terraform -prune -o -type f -print0 \
    | xargs -0 cp --parents -t "../$whole/$name")
  cp -R "$golden". "$whole/$name/"
  trees+=("$whole/$name")
done

for tree in "${trees[@]}"; do
  report=$("$checkov" -d "$tree" --framework terraform --quiet --skip-download -o json 2>/dev/null || true)
  if ! python3 - "$tree" "$report" <<'PY'
import json, sys
tree, text = sys.argv[1], sys.argv[2]
try:
    report = json.loads(text)
except json.JSONDecodeError:
    sys.exit(f"{tree}: checkov printed no JSON report:\n{text[:2000]}")
summary = report["summary"]
failed = report["results"].get("failed_checks", [])
for f in failed:
    print(f"{tree}: {f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']}:{f['file_line_range'][0]})")
print(f"{tree}: checkov {summary['checkov_version']}: {summary['passed']} passed, "
      f"{summary['failed']} failed, {summary['skipped']} skipped inline, "
      f"{summary['parsing_errors']} parsing errors, {summary['resource_count']} resources")
ok = summary["failed"] == 0 and summary["parsing_errors"] == 0 and summary["resource_count"] > 0
sys.exit(0 if ok else 1)
PY
  then
    status=1
  fi
done
exit $status
