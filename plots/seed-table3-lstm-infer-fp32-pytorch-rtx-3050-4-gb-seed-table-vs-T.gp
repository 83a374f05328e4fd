# seed-table3-lstm-infer-fp32-pytorch-rtx-3050-4-gb-seed-table-vs-T.gp — written by dlmem: theory vs measurement.
# Render in this folder with `gnuplot seed-table3-lstm-infer-fp32-pytorch-rtx-3050-4-gb-seed-table-vs-T.gp` (writes seed-table3-lstm-infer-fp32-pytorch-rtx-3050-4-gb-seed-table-vs-T.png and seed-table3-lstm-infer-fp32-pytorch-rtx-3050-4-gb-seed-table-vs-T.svg).
# dlmem sets outstem to a temporary name and renames the files when both are complete.
if (!exists("outstem")) outstem = 'seed-table3-lstm-infer-fp32-pytorch-rtx-3050-4-gb-seed-table-vs-T'
# Data inline: measured points, the analytic prediction and the fit, in MiB.
$meas0 << EOD
50 608.100000
100 608.100000
200 608.100000
300 608.100000
EOD
$pred0 << EOD
50 12.617676
100 12.685547
200 12.821289
300 12.957031
EOD
$fit0 << EOD
50 608.100000
53.90625 608.100000
57.8125 608.100000
61.71875 608.100000
65.625 608.100000
69.53125 608.100000
73.4375 608.100000
77.34375 608.100000
81.25 608.100000
85.15625 608.100000
89.0625 608.100000
92.96875 608.100000
96.875 608.100000
100.78125 608.100000
104.6875 608.100000
108.59375 608.100000
112.5 608.100000
116.40625 608.100000
120.3125 608.100000
124.21875 608.100000
128.125 608.100000
132.03125 608.100000
135.9375 608.100000
139.84375 608.100000
143.75 608.100000
147.65625 608.100000
151.5625 608.100000
155.46875 608.100000
159.375 608.100000
163.28125 608.100000
167.1875 608.100000
171.09375 608.100000
175 608.100000
178.90625 608.100000
182.8125 608.100000
186.71875 608.100000
190.625 608.100000
194.53125 608.100000
198.4375 608.100000
202.34375 608.100000
206.25 608.100000
210.15625 608.100000
214.0625 608.100000
217.96875 608.100000
221.875 608.100000
225.78125 608.100000
229.6875 608.100000
233.59375 608.100000
237.5 608.100000
241.40625 608.100000
245.3125 608.100000
249.21875 608.100000
253.125 608.100000
257.03125 608.100000
260.9375 608.100000
264.84375 608.100000
268.75 608.100000
272.65625 608.100000
276.5625 608.100000
280.46875 608.100000
284.375 608.100000
288.28125 608.100000
292.1875 608.100000
296.09375 608.100000
300 608.100000
EOD

set title 'lstm infer fp32: peak memory vs sequence length (pytorch, RTX 3050 4 GB, seed Table 3)' noenhanced
set xlabel "sequence length T (tokens or steps)"
set ylabel "peak GPU memory (MiB)"
set logscale y 10
set yrange [10.094141:760.125000]
set ytics (20, 50, 100, 200, 500)
set grid
set key outside right top vertical noenhanced box
set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05
set style line 1 lc rgb '#1f77b4' pt 7 ps 1.2
set style line 2 lc rgb '#d62728' pt 5 ps 1.2
set style line 3 lc rgb '#2ca02c' pt 9 ps 1.2
set style line 4 lc rgb '#9467bd' pt 11 ps 1.2

set terminal pngcairo size 1000,640 font "sans,10" noenhanced
set output outstem.'.png'
plot $meas0 using 1:2 with points ls 1 title 'measured B=1 (pytorch) [finding: flat]', \
     $pred0 using 1:2 with linespoints ls 1 dt 2 pt 1 title 'analytic B=1', \
     $fit0 using 1:2 with lines ls 1 lw 1.5 title 'fit B=1 (linear)'

set terminal svg size 1000,640 font "sans,10" noenhanced
set output outstem.'.svg'
plot $meas0 using 1:2 with points ls 1 title 'measured B=1 (pytorch) [finding: flat]', \
     $pred0 using 1:2 with linespoints ls 1 dt 2 pt 1 title 'analytic B=1', \
     $fit0 using 1:2 with lines ls 1 lw 1.5 title 'fit B=1 (linear)'
unset output
