#!/bin/sh
# run.sh SECONDS TARGET... — runs each libFuzzer harness built by `make fuzz`
# (tests/fuzz/fuzz_TARGET) for SECONDS over a scratch corpus seeded from
# data/, tests/fuzz/seeds/TARGET and tests/fuzz/regress/TARGET.  Fails on the
# first finding and copies the input that caused it to ./fuzz-findings/; a finding, once
# fixed, belongs in tests/fuzz/regress/TARGET/ so that `make check` replays it.
set -u
secs=${1:?usage: run.sh SECONDS TARGET...}; shift
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dlmem-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
status=0
for t in "$@"; do
    bin=tests/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "run.sh: $bin not built (make fuzz)" >&2; exit 2; }
    mkdir -p "$work/$t/corpus" "$work/$t/seed" "$work/artifacts"
    case $t in
        netfile) cp "$top"/data/nets/*.net "$work/$t/seed/" ;;
        hfconfig) cp "$top"/data/hf/*.json "$work/$t/seed/" ;;
        csv) find "$top/data" -name '*.csv' -size -256k -exec cp {} "$work/$t/seed/" \; ;;
    esac
    dirs="$work/$t/seed"
    for d in "$here/seeds/$t" "$here/regress/$t"; do [ -d "$d" ] && dirs="$dirs $d"; done
    echo "fuzz_$t: $secs s"
    # -timeout: one input taking 20 s is a finding (unbounded work); -rss_limit_mb: so is 2 GB
    TMPDIR=$work "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" "$work/$t/corpus" $dirs \
        >"$work/$t.log" 2>&1
    rc=$?
    grep -E '^stat::number_of_executed_units|^#[0-9]+ +DONE' "$work/$t.log" | tail -2
    if [ $rc -ne 0 ]; then
        status=1
        tail -40 "$work/$t.log"
        mkdir -p fuzz-findings
        cp "$work"/artifacts/* fuzz-findings/ 2>/dev/null
        echo "fuzz_$t: FINDING (exit $rc); input(s) copied to $(pwd)/fuzz-findings/:" >&2
        ls fuzz-findings >&2
    fi
done
exit $status
