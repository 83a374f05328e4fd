#!/bin/sh
# data_dist.sh — every file under data/ is listed in Makefile.am (nobase_dist_pkgdata_DATA),
# so that `make dist` ships it and `make install` installs it: a measurement or reference
# committed but left out of the list would silently drop out of the tests of a tarball's
# build (they read data/ by globs).  In an unpacked tarball it passes by construction.
. "$top_srcdir/tests/lib.sh"
missing=0
list=$tmpdir/missing
: >"$list"
for f in $(cd "$top_srcdir" && find data -type f | LC_ALL=C sort); do
    grep -qF "$f" "$top_srcdir/Makefile.am" || { echo "$f" >>"$list"; missing=$((missing + 1)); }
done
[ "$missing" -eq 0 ]; ok $? "every file under data/ is in Makefile.am's data list ($missing missing)"
diag "$list"
done_testing
