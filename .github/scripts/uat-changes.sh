#!/usr/bin/env bash
# Does UAT hold changes DEV lacks? usage: uat-changes.sh DEV UAT   (e.g. origin/dev origin/uat)
#
# Exits 1 when merging UAT into DEV would leave DEV's tree as it is: merge commits from promotions
# (dev -> uat) alone, or fixes DEV already has (cherry-picked), are no reason for a pull request.
# Otherwise prints the commits UAT has that DEV lacks, one line each, and exits 0. A merge that
# conflicts counts as holding changes: someone has to look.
set -euo pipefail
dev="$1"
uat="$2"
if merged="$(git merge-tree --write-tree "$dev" "$uat" 2>/dev/null | head -n 1)" \
  && [ "$merged" = "$(git rev-parse "${dev}^{tree}")" ]; then
  exit 1
fi
commits="$(git log --no-merges --format='- %h %s (%an)' "${dev}..${uat}")"
echo "${commits:-- (the changes are in merge commits: git log ${dev}..${uat})}"
