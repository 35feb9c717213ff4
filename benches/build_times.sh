#!/usr/bin/env bash
# Build and test times of two revisions, side by side on this machine (issue 16):
#   bash benches/build_times.sh BEFORE_REV AFTER_REV [HANDLER_FILE DB_FILE]
# For each revision: a fresh clone under /tmp, a clean `cargo test --locked --no-run` (empty
# target), then `touch` a handler and a db query module and build the tests again (twice
# each), then the whole suite (`cargo test --locked --no-fail-fast`). Needs what the tests
# need (see README). Paths default to the workspace layout; for revisions before it pass
# src/web/staff/plans.rs src/db/units.rs.
set -u
before=$1 after=$2
handler=${3:-crates/sipas-web/src/web/staff/plans.rs}
query=${4:-crates/sipas-db/src/units.rs}
repo=$(git rev-parse --show-toplevel)
export SIPAS_TEST_DATABASE_URL="${SIPAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/tmp/build_times.out 2>&1 || echo "failed: $* (see /tmp/build_times.out)" >&2
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
for rev in "$before" "$after"; do
  dir=/tmp/build_times-$rev
  rm -rf "$dir" && git clone -q "$repo" "$dir" && git -C "$dir" checkout -q "$rev"
  cd "$dir" || exit 1
  h=$handler q=$query
  [ -e "$h" ] || h=src/web/staff/plans.rs
  [ -e "$q" ] || q=src/db/units.rs
  echo "$rev clean build: $(seconds cargo test --locked --no-run) s"
  for i in 1 2; do
    touch "$h"; echo "$rev touch $h: $(seconds cargo test --locked --no-run) s"
    touch "$q"; echo "$rev touch $q: $(seconds cargo test --locked --no-run) s"
  done
  echo "$rev test suite: $(seconds cargo test --locked --no-fail-fast) s," \
    "$(grep -E '^test result' /tmp/build_times.out | awk '{p+=$4; f+=$6} END{print p " passed, " f " failed"}')"
  cd "$repo" && rm -rf "$dir"
done
