-- GET /api/v1/organizations/{id} with ids spread over the whole range.
-- Environment: BENCH_TOKEN, BENCH_MIN_ORG, BENCH_MAX_ORG.
package.path = (os.getenv("BENCH_LUA_DIR") or "bench") .. "/?.lua;" .. package.path
local common = require("common")

local min_id = common.env_int("BENCH_MIN_ORG", 1)
local max_id = common.env_int("BENCH_MAX_ORG")
local reqs, n = {}, 0

function setup(thread)
	common.setup(thread)
end

function init(args)
	common.init()
	for i = 1, 8192 do
		reqs[i] = wrk.format("GET", "/api/v1/organizations/" .. math.random(min_id, max_id))
	end
end

function request()
	n = n + 1
	if n > #reqs then
		n = 1
	end
	return reqs[n]
end

-- No response(): wrk then skips handing each response to Lua; errors.status
-- counts answers >= 400.
done = common.done
