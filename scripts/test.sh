#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds a normal and an ASan+UBSan tree,
# runs every unit test (ctest) in both and the integration tests (real processes).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh || exit 1
passed=0; failed=0; failures=()

step() { # name, command...
  local name=$1; shift
  echo "=== $name"
  if "$@"; then passed=$((passed+1)); echo "--- ok: $name"
  else failed=$((failed+1)); failures+=("$name"); echo "--- FAILED: $name"; fi
}

step "build (RelWithDebInfo)" bash scripts/build.sh build RelWithDebInfo || true
step "build (Sanitize: ASan+UBSan)" bash scripts/build.sh build-asan Sanitize || true
step "unit tests" bash -c 'cd build && ctest --output-on-failure -j2'
step "unit tests under ASan+UBSan" bash -c 'cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j2'
step "fuzzing (libFuzzer, 20 s per target)" bash fuzz/run.sh 20
for t in tests/integration/test_*.py; do
  [ -e "$t" ] || continue
  step "integration: $(basename "$t")" timeout 900 python3 "$t"
done

# The daemon built with ASan+UBSan under the fault and membership tests (a sanitizer
# report in any node's log fails the test).
asan_env=(env WAIHUD=build-asan/src/waihud/waihud WAIHU_ELECTION_MS=1000 WAIHU_HEARTBEAT_MS=100)
step "integration under ASan+UBSan: test_cluster.py" "${asan_env[@]}" \
  timeout 900 python3 tests/integration/test_cluster.py TestBasics TestFaults.test_kill_leader_under_writes_loses_nothing
step "integration under ASan+UBSan: test_membership.py" "${asan_env[@]}" \
  timeout 900 python3 tests/integration/test_membership.py
step "integration under ASan+UBSan: test_customers.py" "${asan_env[@]}" \
  timeout 900 python3 tests/integration/test_customers.py
step "integration under ASan+UBSan: test_sip_carrier.py" env WAIHU_SIP_BUILD=build-asan \
  WAIHU_SLOW=3 WAIHU_SIP_LOAD_CALLS=1000 timeout 900 python3 tests/integration/test_sip_carrier.py
step "integration under ASan+UBSan: test_calls.py" "${asan_env[@]}" WAIHU_CALLS_BUILD=build-asan \
  WAIHU_SLOW=3 timeout 900 python3 tests/integration/test_calls.py
step "integration under ASan+UBSan: test_bridge.py" env WAIHU_BRIDGE_BUILD=build-asan \
  WAIHU_SLOW=3 timeout 900 python3 tests/integration/test_bridge.py
step "integration under ASan+UBSan: test_campaigns.py" "${asan_env[@]}" WAIHU_CAMPAIGN_BUILD=build-asan \
  WAIHU_SLOW=3 timeout 900 python3 tests/integration/test_campaigns.py
step "integration under ASan+UBSan: test_console.py" "${asan_env[@]}" WAIHU_CONSOLE_BUILD=build-asan \
  WAIHU_SLOW=3 timeout 900 python3 tests/integration/test_console.py
step "integration under ASan+UBSan: test_agents.py" "${asan_env[@]}" WAIHU_AGENTS_BUILD=build-asan \
  WAIHU_SLOW=3 timeout 900 python3 tests/integration/test_agents.py
step "integration under ASan+UBSan: test_alerts.py" "${asan_env[@]}" WAIHU_SLOW=3 \
  timeout 900 python3 tests/integration/test_alerts.py
step "integration under ASan+UBSan: test_events.py" "${asan_env[@]}" WAIHU_SLOW=3 \
  timeout 900 python3 tests/integration/test_events.py
step "integration under ASan+UBSan: test_event_stream.py" "${asan_env[@]}" WAIHU_SLOW=3 \
  timeout 900 python3 tests/integration/test_event_stream.py
step "integration under ASan+UBSan: test_recordings.py" "${asan_env[@]}" \
  WAIHU_RECORDINGS_BUILD=build-asan WAIHU_SLOW=3 timeout 900 python3 tests/integration/test_recordings.py
step "integration under ASan+UBSan: test_recording_speech.py" "${asan_env[@]}" \
  WAIHU_RECORDINGS_BUILD=build-asan WAIHU_SLOW=3 timeout 900 python3 tests/integration/test_recording_speech.py
step "integration under ASan+UBSan: test_trunk_failover.py" env WAIHU_FAILOVER_BUILD=build-asan \
  WAIHU_SLOW=3 timeout 900 python3 tests/integration/test_trunk_failover.py

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
