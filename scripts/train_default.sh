#!/usr/bin/env bash
# The recipe for the bundled default: me5-small-koen adapted on the *train* splits of the bundled
# sets plus Korean XNLI (entailment = positive, contradiction = hard negative), then scored before
# and after on every evaluation split. Sized for a 2-core CPU within 90 minutes: 1.5 epochs = 872
# steps: 40 min on a 2-core AMD EPYC (avx512_bf16), 42 min with the before/after evaluation;
# --max-minutes 80 stops cleanly on a slower host. The weights are not committed: this reproduces them.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
MODEL=${MODEL:-../shared/models/me5-small-koen}
OUT=${OUT:-models-trained/me5-small-koen-faq}
.venv/bin/faqsearch train --model "$MODEL" --out "$OUT" \
    --data testsets/welfare --data testsets/parakqc --data testsets/stylekqc \
    --data testsets/korsts_train --data testsets/xnli_ko/train_pairs.jsonl \
    --epochs 1.5 --batch-size 32 --lr 2e-5 --max-length 128 --seed 0 --max-minutes "${MAX_MINUTES:-80}" \
    --eval-testset testsets/welfare --eval-testset testsets/welfare_passages \
    --eval-testset testsets/parakqc --eval-testset testsets/parakqc_alt --eval-testset testsets/stylekqc \
    --eval-testset testsets/korsts_dev --eval-testset testsets/korsts_test --eval-testset testsets/cs_faq
