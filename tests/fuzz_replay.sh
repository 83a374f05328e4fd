#!/bin/sh
# fuzz_replay.sh — every libFuzzer harness (tests/fuzz/fuzz_*.c) replayed with
# the normal compiler over its seed corpus (data/, tests/fuzz/seeds/) and over
# every earlier finding (tests/fuzz/regress/), so that `make check` and the
# sanitizer build keep each fixed defect fixed.  One TAP line per input.
. "$top_srcdir/tests/lib.sh"
data=${DLMEM_DATA:-$top_srcdir/data}
fz=$top_srcdir/tests/fuzz
bin=${abs_top_builddir:-.}/tests/fuzz

replay() { # replay TARGET PATH...
    t=$1; shift
    "$bin/replay_$t" "$@" >"$tmpdir/replay.out" 2>"$tmpdir/replay.err"
    rc=$?
    while read -r line; do
        case $line in
            "ok "*) ok 0 "$t: ${line#ok * - }" ;;
            "not ok "*) ok 1 "$t: ${line#not ok * - }" ;;
        esac
    done <"$tmpdir/replay.out"
    if [ $rc -ne 0 ]; then
        ok 1 "$t: the harness stopped (exit $rc) after the inputs above"
        diag "$tmpdir/replay.err"
    fi
}

for t in netfile csv tensorfile cli hfconfig; do
    set --
    for d in "$fz/seeds/$t" "$fz/regress/$t"; do [ -d "$d" ] && set -- "$@" "$d"; done
    case $t in
        netfile) set -- "$@" "$data"/nets/*.net ;;
        hfconfig) set -- "$@" "$data"/hf/*.json ;;
        csv) set -- "$@" "$data"/seed/*.csv "$data"/measured/*.csv "$data"/reference/pytorch_memory.csv ;;
    esac
    replay $t "$@"
done
done_testing
