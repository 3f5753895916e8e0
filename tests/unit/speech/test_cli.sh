#!/bin/sh
# waihu-speech CLI: a flite WAV (keyword on the customer's channel, JSON shape), an
# encrypted recording (decrypted with its key; a wrong key fails), usage errors.
# usage: test_cli.sh WAIHU_SPEECH MAKE_RECORDING
set -eu
tool=$1
make_recording=$2
dir=$(mktemp -d /tmp/waihu-speech-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT

flite -voice slt -t "hello, I would like to file a complaint about my bill" -o "$dir/c16.wav"
sox "$dir/c16.wav" -r 8000 -c 1 -b 16 "$dir/c.wav" pad 1 1
sox "$dir/c.wav" "$dir/silent.wav" vol 0
sox -M "$dir/c.wav" "$dir/silent.wav" "$dir/call.wav"
"$tool" analyse --keywords complaint,contract "$dir/call.wav" > "$dir/out.json"
cat "$dir/out.json"
python3 - "$dir/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
hits = d["channels"]["customer"]["hits"]
assert [h["keyword"] for h in hits] == ["complaint"], hits
assert 1500 < hits[0]["start_ms"] < 4000, hits
assert d["channels"]["agent"]["hits"] == [] and d["channels"]["agent"]["speech_ms"] == 0
assert d["score"] >= 25 and any("complaint" in r["text"] for r in d["reasons"])
assert d["audio_s"] > 3 and d["real_time_factor"] > 0
PY

# Encrypted: a 440 Hz tone on the left (about -15 dBFS), noise on the right.
"$make_recording" "$dir/rec.wrec" "$dir/key"
"$tool" analyse --engine none --key-file "$dir/key" "$dir/rec.wrec" > "$dir/rec.json"
python3 - "$dir/rec.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert abs(d["audio_s"] - 2.5) < 0.01, d
c = d["channels"]["customer"]
assert c["speech_ms"] > 2000 and -20 < c["loudness_dbfs"] < -10, c
PY
grep -q '"truncated":false' "$dir/rec.json"
# Cut inside the third chunk: two seconds analysed, reported truncated.
head -c 70000 "$dir/rec.wrec" > "$dir/cut.wrec"
"$tool" analyse --engine none --key-file "$dir/key" "$dir/cut.wrec" > "$dir/cut.json"
grep -q '"audio_s":2.00,.*"truncated":true' "$dir/cut.json"
printf '%064d\n' 0 > "$dir/bad"
if "$tool" analyse --engine none --key-file "$dir/bad" "$dir/rec.wrec" 2> "$dir/err"; then exit 1; fi
grep -q rec.wrec "$dir/err"
# No plaintext left behind in TMPDIR.
TMPDIR=$dir "$tool" analyse --engine none --key-file "$dir/key" "$dir/rec.wrec" > /dev/null
if ls "$dir" | grep -q waihu-speech-; then exit 1; fi

# Usage errors exit 2.
set +e
"$tool" analyse > /dev/null 2>&1; [ $? -eq 2 ] || exit 1
"$tool" analyse --keywords 'x@nobody' "$dir/call.wav" > /dev/null 2>&1; [ $? -eq 2 ] || exit 1
echo ok
