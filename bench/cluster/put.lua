-- wrk script shared by both sides of bench/cluster_vs_etcd.sh: one random-key write per request.
--
-- Environment:
--   BENCH_TARGET  waihu -> PUT /v1/settings/bench.<n>  body {"value":"<128 bytes>"}
--                 etcd  -> POST /v3/kv/put             body {"key":"<b64>","value":"<b64 of 128 bytes>"}
--   BENCH_KEYS    size of the key space (default 10000); keys are bench.0 .. bench.<KEYS-1>
--   BENCH_VALUE_BYTES  value size (default 128)
--   BENCH_OUT     file that done() writes the summary and the exact latency histogram to,
--                 so that the driver can merge the histograms of several wrk processes.
--   BENCH_SEED    extra seed so that concurrent wrk processes draw different keys.

local target = os.getenv("BENCH_TARGET") or "waihu"
local nkeys = tonumber(os.getenv("BENCH_KEYS") or "10000")
local vbytes = tonumber(os.getenv("BENCH_VALUE_BYTES") or "128")
local out = os.getenv("BENCH_OUT")
local seed = tonumber(os.getenv("BENCH_SEED") or "0")

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(data)
   return ((data:gsub(".", function(x)
      local r, b = "", x:byte()
      for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
      return r
   end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
      if #x < 6 then return "" end
      local c = 0
      for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
      return b64chars:sub(c + 1, c + 1)
   end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

-- A fixed printable value (JSON-safe, no escaping needed), exactly vbytes long.
local alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
local value_t = {}
for i = 1, vbytes do
   local k = ((i * 7) % #alphabet) + 1
   value_t[i] = alphabet:sub(k, k)
end
local value = table.concat(value_t)

-- Pre-built request bodies/paths per key, so request() does no work beyond a table lookup.
local paths, bodies = {}, {}
local headers = { ["Content-Type"] = "application/json" }
if target ~= "etcd" and os.getenv("BENCH_TOKEN") then
   headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end
if target == "etcd" then
   local vb64 = b64(value)
   for n = 0, nkeys - 1 do
      bodies[n] = '{"key":"' .. b64("bench." .. n) .. '","value":"' .. vb64 .. '"}'
   end
else
   local body = '{"value":"' .. value .. '"}'
   for n = 0, nkeys - 1 do
      paths[n] = "/v1/settings/bench." .. n
      bodies[n] = body
   end
end

local thread_counter = 0
function setup(thread)
   thread_counter = thread_counter + 1
   thread:set("tid", thread_counter)
end

function init(args)
   math.randomseed(os.time() * 1000 + seed * 100 + (tid or 0))
   for _ = 1, 10 do math.random() end
end

function request()
   local n = math.random(0, nkeys - 1)
   if target == "etcd" then
      return wrk.format("POST", "/v3/kv/put", headers, bodies[n])
   end
   return wrk.format("PUT", paths[n], headers, bodies[n])
end

function done(summary, latency, requests)
   if not out then return end
   local f = assert(io.open(out, "w"))
   local e = summary.errors
   f:write(string.format("summary duration_us=%d requests=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
      summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
   -- Debian's wrk 4.1.0 does not expose the raw histogram to Lua (latency[i] returns i), so
   -- write a dense quantile grid instead: 0.1 % steps up to p99, 0.01 % steps above.  The
   -- driver merges the grids of the wrk processes weighted by their request counts.
   f:write(string.format("minmax %d %d\n", latency.min, latency.max))
   if summary.requests > 0 then
      for i = 1, 990 do
         local p = i / 10
         f:write(string.format("q %.2f %d\n", p, latency:percentile(p)))
      end
      for i = 1, 100 do
         local p = 99 + i / 100
         local v = (i == 100) and latency.max or latency:percentile(p)
         f:write(string.format("q %.2f %d\n", p, v))
      end
   end
   f:close()
end
