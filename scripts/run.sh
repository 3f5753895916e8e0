#!/usr/bin/env bash
# The main job, as far as it has landed: a local 3-node cluster on 127.0.0.1
# (API on :8001-8003; node n1 also runs telephony, SIP on :5060), its status shown by
# waihuctl, then a demo: customers imported, a simulated carrier (waihu-carrier) and ten
# simulated agents (waihu-agents), a predictive campaign dialing the customers with its
# progress printed live and a summary (docs/campaigns.md). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
export WAIHU_TOKEN_FILE=run/secrets/bootstrap.token
python3 tools/localcluster/localcluster.py up --nodes 3 --dcs dc1,dc2,dc3 --dir run \
  --telephony 127.0.0.1:5060 --trunk 127.0.0.1:5070 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
for _ in $(seq 1 600); do
  if build/tools/waihuctl/waihuctl --endpoints 127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003 \
       cluster status >/dev/null 2>&1; then break; fi
  kill -0 $pid 2>/dev/null || { echo "run: cluster failed to start; logs in run/n*/waihud.log"; exit 1; }
  sleep 0.1
done
build/tools/waihuctl/waihuctl --endpoints 127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003 cluster status
python3 tools/demo/demo_campaign.py --dir run || echo "run: the demo campaign failed (logs in run/n1/waihud.log); the cluster keeps running"
echo "Try: WAIHU_TOKEN_FILE=run/secrets/bootstrap.token build/tools/waihuctl/waihuctl settings put greeting hello"
echo "API token for curl: Authorization: Bearer \$(cat run/secrets/bootstrap.token) (docs/api-auth.md)"
echo "Ctrl-C stops the cluster (data stays under run/)."
wait $pid
