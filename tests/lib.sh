# lib.sh — TAP helpers for dlmem's shell tests.  Source it; call ok/run_*; end
# with done_testing.  $DLMEM is the binary under test (set by `make check`).
: "${DLMEM:=$(pwd)/dlmem}"
: "${top_srcdir:=.}"
tap_n=0
tap_failed=0
tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/dlmem-test.XXXXXX") || exit 1
trap 'rm -rf "$tmpdir"' EXIT

# A build without jansson (./configure --without-jansson, as on the GPU machine)
# refuses --format json: the checks on a JSON run's output report SKIP there.
no_json=0
"$DLMEM" models --format json >/dev/null 2>&1 || no_json=1
skip_json=0

ok() { # ok STATUS DESCRIPTION...
    st=$1; shift
    tap_n=$((tap_n + 1))
    if [ "$skip_json" -eq 1 ]; then
        echo "ok $tap_n - $* # SKIP this dlmem has no JSON output (built without jansson)"
        return 0
    fi
    if [ "$st" -eq 0 ]; then
        echo "ok $tap_n - $*"
    else
        echo "not ok $tap_n - $*"
        tap_failed=$((tap_failed + 1))
    fi
}

diag() { sed 's/^/#   /' "$@"; }

# run ARGS...: runs dlmem, stdout -> $tmpdir/out, stderr -> $tmpdir/err, status -> $rc
run() {
    skip_json=0
    if [ "$no_json" -eq 1 ]; then
        for arg in "$@"; do [ "$arg" = json ] && skip_json=1; done
    fi
    "$DLMEM" "$@" >"$tmpdir/out" 2>"$tmpdir/err"
    rc=$?
}

# expect_rc WANT DESCRIPTION: checks $rc; shows stderr when it differs
expect_rc() {
    want=$1; shift
    if [ "$rc" -eq "$want" ]; then ok 0 "$* (exit $want)"; else
        ok 1 "$* (exit $rc, expected $want)"; diag "$tmpdir/err"; fi
}

# one_line_error PATTERN DESCRIPTION: stderr is exactly one line matching PATTERN
one_line_error() {
    pat=$1; shift
    n=$(wc -l <"$tmpdir/err")
    if [ "$n" -eq 1 ] && grep -q -- "$pat" "$tmpdir/err"; then ok 0 "$*"; else
        ok 1 "$* (wanted one line matching '$pat', got $n lines)"; diag "$tmpdir/err"; fi
}

# out_has PATTERN DESCRIPTION
out_has() {
    pat=$1; shift
    if grep -q -- "$pat" "$tmpdir/out"; then ok 0 "$*"; else
        ok 1 "$* (no '$pat' in output)"; head -20 "$tmpdir/out" | diag; fi
}

# json_valid FILE DESCRIPTION: parses with python3 (installed by the test setup)
json_valid() {
    f=$1; shift
    if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>"$tmpdir/jerr"; then
        ok 0 "$*"; else ok 1 "$*"; diag "$tmpdir/jerr"; fi
}

# json_eq FILE PYEXPR WANT DESCRIPTION: python expression over `d` equals WANT
json_eq() {
    f=$1; expr=$2; want=$3; shift 3
    got=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($expr)" "$f" 2>&1)
    if [ "$got" = "$want" ]; then ok 0 "$*"; else ok 1 "$* (got '$got', expected '$want')"; fi
}

done_testing() {
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}
