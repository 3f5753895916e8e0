#!/bin/sh
# waihu-recording CLI: decrypt, per-channel energy, and a truncated file (crash mid-chunk).
# usage: test_recording_cli.sh MAKE_RECORDING WAIHU_RECORDING
set -eu
make_recording=$1
tool=$2
dir=$(mktemp -d /tmp/waihu-media-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$make_recording" "$dir/call.wrec" "$dir/key"
"$tool" decrypt --key-file "$dir/key" "$dir/call.wrec" "$dir/call.wav" | grep -q 'chunks=3 frames=20000 seconds=2.50 complete=1'
"$tool" energy "$dir/call.wav" > "$dir/energy"
cat "$dir/energy"
# Both parties are heard: the tone is about -15 dBFS, the noise about -35 dBFS.
awk -F'[= ]' '/channel=0/ { if ($4 < -20 || $4 > -10) exit 1 }
              /channel=1/ { if ($4 < -45 || $4 > -25) exit 1 }' "$dir/energy"

# Cut inside the third chunk: the first two seconds come back, with a warning.
head -c 70000 "$dir/call.wrec" > "$dir/cut.wrec"
"$tool" decrypt --key-file "$dir/key" "$dir/cut.wrec" "$dir/cut.wav" 2> "$dir/err" | grep -q 'chunks=2 frames=16000'
grep -q truncated "$dir/err"
"$tool" energy "$dir/cut.wav" | grep -q 'channel=1'

# A wrong key fails.
printf '%064d\n' 0 > "$dir/bad"
if "$tool" decrypt --key-file "$dir/bad" "$dir/call.wrec" "$dir/x.wav" 2> /dev/null; then exit 1; fi
echo ok
