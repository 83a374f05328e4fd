#!/bin/sh
# cli_probe.sh — `dlmem probe`'s usage errors, checked before any GPU is
# touched (so they read the same with or without one): one line naming what
# is wrong, exit status 2, nothing written.
. "$top_srcdir/tests/lib.sh"

run probe
expect_rc 2 "no MODEL"
one_line_error "expected one MODEL" "says a model is needed"
run probe resnet18
expect_rc 2 "no --batch"
one_line_error "\-\-batch LIST is required" "says --batch is required"
run probe resnet18 --batch 1 --dtype fp64 -o "$tmpdir/x.csv"
expect_rc 2 "unknown dtype"
one_line_error "\-\-dtype: 'fp64'" "names the dtype"
run probe resnet18 --batch 1 --mode sideways -o "$tmpdir/x.csv"
expect_rc 2 "unknown mode"
run probe resnet18 --batch 1 --seq 10 -o "$tmpdir/x.csv"
expect_rc 2 "--seq for a model without a sequence"
run probe lstm --batch 1 -o "$tmpdir/x.csv"
expect_rc 2 "an RNN without --seq"
run probe resnet18 --batch 1 --alignment 24 -o "$tmpdir/x.csv"
expect_rc 2 "an alignment that is not a power of two"
run probe resnet18 --batch 1 --layout nwhc -o "$tmpdir/x.csv"
expect_rc 2 "unknown layout"
if [ -e "$tmpdir/x.csv" ]; then ok 1 "no file written by a usage error"; else
    ok 0 "no file written by a usage error"; fi
run probe --help
expect_rc 0 "--help"
out_has "workspaces-<gpu>-cudnn<version>.csv" "help names the user cache"
done_testing
