-- The first page of the busiest organization's timeline:
--   GET /api/v1/organizations/{busiest}/timeline?limit=50
-- One fixed request, so wrk sends it without calling Lua per request.
-- Environment: BENCH_TOKEN, BENCH_BUSIEST_ORG.
package.path = (os.getenv("BENCH_LUA_DIR") or "bench") .. "/?.lua;" .. package.path
local common = require("common")

wrk.method = "GET"
wrk.path = "/api/v1/organizations/" .. common.env_int("BENCH_BUSIEST_ORG") .. "/timeline?limit=50"

function setup(thread)
	common.setup(thread)
end

done = common.done
