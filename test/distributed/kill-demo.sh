#!/usr/bin/env bash
# kill -9 of a worker and of the coordinator with the default lock settings (30 s), timed;
# run in an empty directory: it writes a.log, b.log, c1.log, c2.log and out/ there.
set -u
B="$(cd "$(dirname "$0")/../.." && pwd)/bin/irqdiff.js"
U="${1:?usage: kill-demo.sh redis://127.0.0.1:PORT/DB (a scratch Redis: it is flushed)}"
redis-cli -u "$U" flushall >/dev/null
ts() { date +%s.%N | cut -c1-14; }
ARGS="--queue $U --backend bhyve --backend kvm/v4.10 --iterations 24000 --unit-size 2000 --seed demo --out out"
nice -n 10 node $B worker --queue $U --jobs 1 > a.log 2>&1 & A=$!
nice -n 10 node $B worker --queue $U --jobs 1 > b.log 2>&1 & WB=$!
sleep 1
echo "$(ts) coordinator 1 started"
nice -n 10 node $B fuzz $ARGS > c1.log 2>&1 & C=$!
until grep -q "^start unit" a.log; do sleep 0.05; done
unit=$(grep -m1 "^start unit" a.log | awk '{print $3}')
kill -9 $A; echo "$(ts) killed worker A in unit $unit"
until grep -q "^NEW" c1.log; do sleep 0.05; done
kill -9 $C; echo "$(ts) killed coordinator 1 after $(grep -c '^NEW' c1.log) NEW lines, $(grep -c '^done  unit' b.log) units done by B"
sleep 2
echo "$(ts) coordinator 2 started"
nice -n 10 node $B fuzz $ARGS > c2.log 2>&1 & C2=$!
until grep -q "start unit $unit" b.log; do sleep 0.2; done
echo "$(ts) worker B started $unit"
wait $C2; echo "$(ts) coordinator 2 exit $?"
kill $WB; wait $WB 2>/dev/null
echo "NEW lines: c1 $(grep -c '^NEW' c1.log), c2 $(grep -c '^NEW' c2.log), distinct $(grep -h '^NEW' c1.log c2.log | grep -o '[a-z0-9-]*/[^ ]*:[^ ]*' | sort -u | wc -l); reproducers $(find out -name '*.json' | wc -l); buckets $(wc -l < out/buckets.ndjson)"
grep -E "resuming|^done|units:" c2.log
