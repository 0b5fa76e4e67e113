#!/usr/bin/env bash
# stage.sh NAME COMMAND...: one stage of `make test` (lint, fast, slow). Runs COMMAND, prints the stage's wall
# time and outcome, appends that line to $STAGE_LOG when set (make test prints them all at the end), and exits
# with COMMAND's status.
name=$1
shift
start=$(date +%s.%N)
"$@"
rc=$?
line=$(awk -v n="$name" -v s="$start" -v e="$(date +%s.%N)" -v rc="$rc" \
  'BEGIN { printf "stage %-5s %7.1f s  %s", n, e - s, (rc == 0 ? "ok" : "FAILED (exit " rc ")") }')
echo "== $line"
[ -n "${STAGE_LOG:-}" ] && echo "$line" >> "$STAGE_LOG"
exit $rc
