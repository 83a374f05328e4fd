#!/bin/sh
# memory.sh — the memory model against PyTorch's measurements (full error
# table) and its speed (points per second per network, one core).
# Run from a built tree: sh bench/memory.sh  (builds bench/bench_memory first).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
make -C "$top" bench/bench_memory >/dev/null
DLMEM_DATA=${DLMEM_DATA:-$top/data}; export DLMEM_DATA
echo "== pytorch profile vs data/reference/pytorch_memory.csv"
"$top/bench/bench_memory" errors
echo
echo "== speed (one core)"
"$top/bench/bench_memory" speed
