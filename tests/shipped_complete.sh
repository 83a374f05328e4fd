#!/bin/sh
# shipped_complete.sh — issue 10's promise for the rows under data/cudnn/: on sm_90
# (the H200, PyTorch's cuDNN 9.19) every built-in network and every data/nets example
# has a probed row for each of its library calls at every batch size 1..256 (RNNs over
# their T grid), so that no point of theirs is a lower bound.  Checked at batch sizes
# spread over that range (bench/coverage.sh sweeps all 256); a point whose rules are
# refused (vit_b_16's training) is not a row gap and is left out.
. "$top_srcdir/tests/lib.sh"
B=1,2,3,5,17,64,127,128,129,200,255,256
for m in resnet18 resnet34 resnet50 vgg16 mobilenet_v2 densenet121 efficientnet_b0 unet \
         data/nets/cifar_cnn.net data/nets/mobilenet_block.net data/nets/unet_level.net \
         data/nets/vgg_small.net; do
    case $m in data/*) m=$top_srcdir/$m ;; esac
    for d in fp32 bf16; do
        for mo in infer train; do
            run memory "$m" --batch $B --dtype $d --mode $mo --format csv
            n=$(awk 'END { print NR - 1 }' "$tmpdir/out")
            # complete, no unknown term, no closing command: the row ends ",1,0,,"
            [ "$n" -eq 12 ] && ! tail -n +2 "$tmpdir/out" | grep -qv ',1,0,,$'
            ok $? "$(basename "$m") $d $mo: 12 points, every one complete"
        done
    done
done
run memory vit_b_16 --batch $B --dtype bf16 --mode infer --format csv
! tail -n +2 "$tmpdir/out" | grep -qv ',1,0,,$'; ok $? "vit_b_16 bf16 infer: the patch conv has rows"
for m in lstm gru; do
    run memory $m --batch 1,77,256 --seq 50,1000 --dtype bf16 --mode train --format csv
    ! tail -n +2 "$tmpdir/out" | grep -qv ',1,0,,$'; ok $? "$m bf16 train over B and T: complete"
done
done_testing
