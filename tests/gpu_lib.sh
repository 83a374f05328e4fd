# gpu_lib.sh — helpers for dlmem's GPU tests (*.gpu).  Source after lib.sh.
# Without what a GPU test needs, the test is skipped (TAP "1..0 # SKIP", exit
# 77) — unless DLMEM_REQUIRE_GPU=1 (`make check-gpu`), where it fails.
: "${abs_top_builddir:=$(pwd)}"
: "${PYTHON3:=python3}"
VERIFY="$abs_top_builddir/tests/gpu_verify"

gpu_skip() {
    if [ "${DLMEM_REQUIRE_GPU:-0}" = 1 ]; then
        echo "not ok 1 - GPU test cannot run: $*"
        echo "1..1"
        exit 1
    fi
    echo "1..0 # SKIP $*"
    exit 77
}

# need_gpu: a CUDA build of dlmem and a usable GPU.
need_gpu() {
    [ -x "$VERIFY" ] || gpu_skip "dlmem was built without CUDA"
    why=$("$VERIFY" --probe 2>&1) || gpu_skip "$why"
}

# need_torch: python3 with PyTorch that sees the GPU (the reference).
need_torch() {
    "$PYTHON3" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' \
        >/dev/null 2>&1 || gpu_skip "no python3 with CUDA PyTorch (the reference)"
}
