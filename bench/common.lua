-- Shared by the wrk scripts of bench/run.sh: credentials, per-thread seeds,
-- status counting and one machine-readable result line.
--
-- Environment: BENCH_TOKEN (a rapport API token, required).

local M = {}

local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
	error("BENCH_TOKEN is not set")
end
wrk.headers["Authorization"] = "Bearer " .. token

function M.env_int(name, default)
	local v = tonumber(os.getenv(name) or "")
	if v == nil then
		if default == nil then
			error(name .. " is not set")
		end
		return default
	end
	return math.floor(v)
end

-- Main Lua state: every thread, so that done() can add up their counters.
local threads = {}

function M.setup(thread)
	table.insert(threads, thread)
	thread:set("tid", #threads)
end

-- Per-thread state (globals of the thread's Lua state).
function M.init()
	math.randomseed((tid or 1) * 7919 + os.time())
	ok_count, bad_count, want_status = 0, 0, nil
	statuses = {}
end

-- Counts responses: `want` is the status that counts as success (e.g. 201);
-- anything else is counted as bad and tallied per status.
function M.count(status, want)
	if status == want then
		ok_count = ok_count + 1
	else
		bad_count = bad_count + 1
		statuses[status] = (statuses[status] or 0) + 1
	end
end

function M.done(summary, latency, requests)
	local ok, bad = 0, 0
	local per = {}
	for _, t in ipairs(threads) do
		ok = ok + (t:get("ok_count") or 0)
		bad = bad + (t:get("bad_count") or 0)
		local st = t:get("statuses")
		if st then
			for k, v in pairs(st) do
				per[k] = (per[k] or 0) + v
			end
		end
	end
	local e = summary.errors
	local list = {}
	for k, v in pairs(per) do
		table.insert(list, k .. ":" .. v)
	end
	io.write(string.format(
		"BENCH_RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
		"non2xx=%d connect=%d read=%d write=%d timeout=%d ok=%d bad=%d statuses=%s\n",
		summary.requests, summary.duration,
		latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
		e.status, e.connect, e.read, e.write, e.timeout, ok, bad,
		#list > 0 and table.concat(list, ",") or "-"))
end

return M
