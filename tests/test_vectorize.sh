#!/usr/bin/env bash
# test_vectorize.sh -- dhatu-vectorize end to end: records, errors with line and
# offset, exit statuses, --bench output. usage: test_vectorize.sh BINARY SAMPLE CORPORA
set -u
V=$1 SAMPLE=$2 CORPORA=$3
EQ=$(dirname "$0")/records_equal.py
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

# The shipped sample: one record per article, exit 0, the documented fields.
"$V" "$SAMPLE" >"$T/out" 2>"$T/err"; rc=$?
check "sample exit 0 (got $rc)" test "$rc" -eq 0
check "500 records" test "$(wc -l <"$T/out")" -eq 500
for f in '"id":' '"model":"lexicon-1"' '"weights":\[' '"positive":\[' '"negative":\[' '"tokens":' \
         '"dominant":' '"polarity":\[' '"intensity":\[' '"confidence":\[' '"signature":' \
         '"prime_bases":\[' '"ambiguity":'; do
  check "every record has $f" test "$(grep -c "$f" "$T/out")" -eq 500
done
check "summary on stderr" grep -q '500 records from 500 articles, 0 lines skipped' "$T/err"
check "ids in input order" test "$(head -1 "$T/out" | cut -c1-30)" = '{"id":"arxiv-0705.3247","model'

# Same records from stdin, with the seed model too.
"$V" -q <"$SAMPLE" >"$T/out2"; check "stdin gives the same records" cmp -s "$T/out" "$T/out2"
"$V" -q -m seed -B cpu-ref "$SAMPLE" >"$T/s1"; "$V" -q -m seed -B cpu -n 7 "$SAMPLE" >"$T/s2"
check "seed: cpu equals cpu-ref across batch sizes" cmp -s "$T/s1" "$T/s2"
check "seed model id" grep -q '"model":"seed-1"' "$T/s1"

# Bad lines are reported with file, line, offset and reason, then skipped.
printf '%s\n' '{"id":"a","text":"possible"}' 'not json' '{"id":"b"}' '' \
  '{"id":"c","text":"0123456789012345678901"}' '{"id":7,"text":"x","lang":null,"title":null}' >"$T/bad.jsonl"
"$V" --max-article-bytes 20 "$T/bad.jsonl" >"$T/out" 2>"$T/err"; rc=$?
check "bad lines: exit 1 (got $rc)" test "$rc" -eq 1
check "bad lines: good records kept" test "$(wc -l <"$T/out")" -eq 2
check "integer id becomes a string" grep -q '"id":"7"' "$T/out"
check "invalid JSON reported with line and offset" grep -q "bad.jsonl:2: offset 29: invalid JSON" "$T/err"
check "missing text reported" grep -q 'bad.jsonl:3: offset 38: missing field "text"' "$T/err"
check "oversized article reported" grep -q 'bad.jsonl:5: offset 50: id c: article of 22 bytes exceeds the maximum of 20' "$T/err"
check "summary counts skipped lines" grep -q '2 records from 3 articles, 3 lines skipped' "$T/err"

# A line longer than the reader's bound (6 x max article + 1 MiB) is skipped whole.
{ echo '{"id":"a","text":"ok"}'; printf '{"id":"big","text":"'; head -c 1200000 /dev/zero | tr '\0' 'x'; echo '"}';
  echo '{"id":"z","text":"ok"}'; } >"$T/long.jsonl"
"$V" --max-article-bytes 10 "$T/long.jsonl" >"$T/out" 2>"$T/err"; rc=$?
check "overlong line: exit 1 ($rc)" test "$rc" -eq 1
check "overlong line reported" grep -q 'long.jsonl:2: offset 23: line longer than 1048636 bytes, skipped' "$T/err"
check "lines around it kept" test "$(wc -l <"$T/out")" -eq 2

# Write errors are reported with their cause and exit 2; a later missing file does not
# lose the records of the earlier ones.
"$V" "$SAMPLE" >/dev/full 2>"$T/err"; rc=$?
check "/dev/full: exit 2 ($rc)" test "$rc" -eq 2
check "/dev/full: says why" grep -q "cannot write to stdout: No space left on device" "$T/err"
"$V" "$SAMPLE" /nonexistent.jsonl >"$T/out" 2>"$T/err"; rc=$?
check "good file then missing file: exit 2 ($rc)" test "$rc" -eq 2
check "good file then missing file: all 500 records written" test "$(wc -l <"$T/out")" -eq 500
# CSV input (by name) through the same article reader, a byte-order mark skipped.
printf '\xef\xbb\xbfid,text\nc1,"It is possible."\n' >"$T/in.csv"
"$V" -q "$T/in.csv" >"$T/out" 2>"$T/err"; rc=$?
check "CSV input: exit 0 ($rc)" test "$rc" -eq 0
check "CSV input: the record" grep -q '"id":"c1"' "$T/out"

# Usage and configuration errors: exit 2 with a message.
"$V" --model word2vec "$SAMPLE" >/dev/null 2>"$T/err"; rc=$?
check "unknown model exit 2" test "$rc" -eq 2
check "unknown model message" grep -q "unknown model 'word2vec'" "$T/err"
# GPU backends: equal records where they run; exit 2 and the reason where not.
"$V" -q "$SAMPLE" >"$T/cpu"
"$V" -q -m seed "$SAMPLE" >"$T/cpu_seed"
for b in opencl cuda auto; do
  "$V" -q -B "$b" "$SAMPLE" >"$T/gpu" 2>"$T/err"; rc=$?
  if [ "$rc" -eq 0 ]; then
    # Equal records; floats to 1e-12 (a GPU's log() may differ in the last bit).
    check "-B $b lexicon equals cpu" "$EQ" "$T/gpu" "$T/cpu"
    "$V" -q -B "$b" -m seed "$SAMPLE" >"$T/gpu"; check "-B $b seed equals cpu" "$EQ" "$T/gpu" "$T/cpu_seed"
    echo "cli: -B $b ran"
  else
    # Only "no platform / no device / not built in" is an excuse; any other
    # backend error (a device that computes differently, a kernel that does
    # not build) fails here instead of passing as "unavailable".
    check "-B $b unavailable: exit 2 ($rc)" test "$rc" -eq 2
    check "-B $b unavailable: says why" grep -q "$b" "$T/err"
    check "-B $b unavailable for a reason that excuses it (no platform, no device, not built in): $(cat "$T/err")" \
      grep -qE "no OpenCL platform is installed|no [a-zA-Z]* ?device on|not built into this binary|no usable CUDA device" \
      "$T/err"
    echo "cli: -B $b unavailable here: $(cat "$T/err")"
  fi
done
"$V" -B auto "$SAMPLE" 2>&1 >/dev/null | grep -q 'auto chose'; check "auto says what it chose" test $? -eq 0
"$V" /nonexistent.jsonl >/dev/null 2>"$T/err"; rc=$?
check "missing file exit 2" test "$rc" -eq 2
check "missing file message" grep -q "/nonexistent.jsonl: No such file" "$T/err"
"$V" --lexicon /nonexistent.lex "$SAMPLE" >/dev/null 2>"$T/err"; rc=$?
check "missing lexicon exit 2" test "$rc" -eq 2
"$V" --bogus >/dev/null 2>&1; rc=$?; check "bad option exit 2" test "$rc" -eq 2
"$V" --help | grep -q -- '--bench'; check "--help" test $? -eq 0
"$V" --version | grep -q 'backends:.*cpu cpu-ref auto'; check "--version lists backends" test $? -eq 0

# A user lexicon: the model id follows its name and version.
printf '!name mine\n!version 7\nen FEEL + possible\n' >"$T/lex.txt"
"$V" -q --lexicon "$T/lex.txt" "$SAMPLE" | head -1 >"$T/out"
check "user lexicon model id" grep -q '"model":"mine-7"' "$T/out"

# --bench: a human line and a machine-readable JSON line per backend and model.
"$V" --bench --synthetic 2000 --rounds 2 -m seed,lexicon -B cpu,cpu-ref >"$T/bench" 2>"$T/err"; rc=$?
check "bench exit 0 ($rc)" test "$rc" -eq 0
check "bench JSON lines" test "$(grep -c '^{"bench":"dhatu-vectorize"' "$T/bench")" -eq 4
check "bench reports articles/s" grep -q '"articles_per_s":' "$T/bench"

# Awkward real inputs, when the shared corpora are there.
if [ -f "$CORPORA/nasty.jsonl" ]; then
  "$V" -q "$CORPORA/nasty.jsonl" >"$T/out" 2>"$T/err"; rc=$?
  check "nasty.jsonl exit 0 ($rc)" test "$rc" -eq 0
  check "nasty.jsonl: 200 records" test "$(wc -l <"$T/out")" -eq 200
else
  echo "SKIP: nasty.jsonl part ($CORPORA not found)"
fi

echo "cli: $pass passed, $fail failed"
test "$fail" -eq 0
