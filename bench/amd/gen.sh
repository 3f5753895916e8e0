#!/bin/bash
# Generates synthetic answered calls for the AMD benchmark, deterministically.
# usage: gen.sh SEED N OUTDIR   (N calls, half machines, half people)
# Writes OUTDIR/NNN.raw (8 kHz mono signed 16-bit, t=0 is the answer) and
# OUTDIR/list.txt with lines "label file voice noise text" (label: human|machine).
#   machines: ring-off delay, a recorded greeting of 3-12 s, a beep, silence;
#   people:   ring-off delay, a short "hello?" (several phrasings), then silence
#             or, after a pause, more speech.
# Voices: flite slt, awb, rms, kal; levels, noise (white/pink/brown) and beep
# frequencies vary per call; bash RANDOM is seeded, sox runs with -R (repeatable).
set -euo pipefail
seed=$1
n=$2
out=$3
mkdir -p "$out"
RANDOM=$seed
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

voices=(slt awb rms kal)
names=(Sarah John Maria David Linda Peter Emma Carlos Grace Tom)
hellos=("Hello?" "Hello." "Hi, this is NAME." "Yes, hello?" "Hello, who is this?" "Hey."
        "Good morning." "Hello, NAME speaking." "Yeah?" "NAME here." "Hi there." "Hello, yes?")
followups=("Hello? Is anyone there?" "Hello?" "Who is calling, please?" "I can't hear you."
           "Hello, can you hear me?" "Yes?")
greetings=("Hi, you have reached NAME. I can't take your call right now. Please leave a message after the tone."
           "Hello, this is NAME. Sorry I missed your call. Leave your name and number and I will call you back."
           "The person you are calling is not available. Please leave a message after the beep."
           "Thank you for calling NAME's office. Our hours are nine to five, Monday through Friday. Please leave a message and we will return your call."
           "Hey, it's NAME. I'm away from the phone right now, so leave a message and I'll get back to you."
           "You have reached the voicemail of NAME. Please record your message after the tone. When you are finished, hang up or press pound for more options."
           "Hi. NAME and family can't come to the phone. Leave a message."
           "Welcome to the mailbox of NAME. Your call is important. Please leave a detailed message, including your phone number, and the best time to reach you."
           "Hello. You've reached NAME. Leave a message."
           "Please leave your message for NAME after the tone.")
beeps=(1000 800 1400 440 950 1100)
noises=(none none whitenoise pinknoise brownnoise whitenoise pinknoise)
noise_vols=(0.002 0.005 0.01 0.02)

# RANDOM is drawn in this shell only: bash reseeds it in subshells, so $(...) must not use it.
pick() { # pick ARRAYNAME -> REPLY = a random element
    local -n arr=$1
    REPLY=${arr[RANDOM % ${#arr[@]}]}
}
frac() { # frac LO HI -> REPLY = a decimal in [LO, HI) with 2 decimals
    local r=$RANDOM
    REPLY=$(awk -v lo="$1" -v hi="$2" -v r="$r" 'BEGIN { printf "%.2f", lo + (hi - lo) * r / 32768 }')
}
say() { # say VOICE TEXT OUT.wav LEVEL_DB: speech at 8 kHz, peak-normalised to LEVEL_DB
    flite -voice "$1" -t "$2" -o "$tmp/say.wav"
    sox -R "$tmp/say.wav" -r 8000 -c 1 -b 16 "$3" norm "$4"
}
silence() { # silence SECONDS OUT.wav
    sox -R -n -r 8000 -c 1 -b 16 "$2" trim 0 "$1"
}
seconds() { soxi -D "$1"; }

: > "$out/list.txt"
for ((i = 0; i < n; i++)); do
    f=$(printf '%03d' "$i")
    pick voices; voice=$REPLY
    pick names; name=$REPLY
    frac -14 -2; level=$REPLY
    parts=()
    frac 0.2 1.2; silence "$REPLY" "$tmp/lead.wav"
    parts+=("$tmp/lead.wav")
    if ((i % 2 == 0)); then
        label=machine
        pick greetings; text=$REPLY
        spoken=${text//NAME/$name}
        say "$voice" "$spoken" "$tmp/greet.wav" "$level"
        len=$(seconds "$tmp/greet.wav")
        if awk -v l="$len" 'BEGIN { exit !(l < 3.0) }'; then # pad a short greeting to 3 s
            sox "$tmp/greet.wav" "$tmp/g2.wav" pad 0 "$(awk -v l="$len" 'BEGIN { print 3.0 - l }')"
            mv "$tmp/g2.wav" "$tmp/greet.wav"
        fi
        sox -V1 "$tmp/greet.wav" "$tmp/g2.wav" trim 0 12
        frac 0.2 0.8; silence "$REPLY" "$tmp/gap.wav"
        frac 0.25 0.8; beep_s=$REPLY
        pick beeps
        sox -R -n -r 8000 -c 1 -b 16 "$tmp/beep.wav" synth "$beep_s" sine "$REPLY" gain -n "$level"
        silence 1.5 "$tmp/tail.wav"
        parts+=("$tmp/g2.wav" "$tmp/gap.wav" "$tmp/beep.wav" "$tmp/tail.wav")
    else
        label=human
        pick hellos; text=$REPLY
        spoken=${text//NAME/$name}
        say "$voice" "$spoken" "$tmp/hello.wav" "$level"
        parts+=("$tmp/hello.wav")
        if ((RANDOM % 2 == 0)); then
            frac 1.2 3.0; silence "$REPLY" "$tmp/pause.wav"
            pick followups; text=$REPLY
            frac -14 -2
            say "$voice" "$text" "$tmp/more.wav" "$REPLY"
            spoken="$spoken | $text"
            parts+=("$tmp/pause.wav" "$tmp/more.wav")
        fi
        silence 4 "$tmp/tail.wav"
        parts+=("$tmp/tail.wav")
    fi
    sox "${parts[@]}" "$tmp/call.wav"
    pick noises; noise=$REPLY
    if [ "$noise" != none ]; then
        pick noise_vols; vol=$REPLY
        sox -R -n -r 8000 -c 1 -b 16 "$tmp/noise.wav" synth "$(seconds "$tmp/call.wav")" "$noise" vol "$vol"
        sox -R -m "$tmp/call.wav" "$tmp/noise.wav" "$tmp/mix.wav"
        mv "$tmp/mix.wav" "$tmp/call.wav"
        noise="$noise@$vol"
    fi
    sox -R "$tmp/call.wav" -t raw -e signed -b 16 -r 8000 -c 1 "$out/$f.raw"
    echo "$label $out/$f.raw $voice $noise ${spoken}" >> "$out/list.txt"
done
# A summary for whoever runs it by hand (bench/amd.sh reads list.txt, not this line).
echo "RESULT calls=$(wc -l < "$out/list.txt") machines=$(grep -c '^machine ' "$out/list.txt") people=$(grep -c '^human ' "$out/list.txt")"
