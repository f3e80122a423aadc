-- A filtered list with a full-text query:
--   GET /api/v1/interactions?q=WORD&kind=email&limit=20
-- cycling through words that occur in the generated subjects and bodies,
-- common ones (thousands of matches) and rarer ones.
-- Environment: BENCH_TOKEN.
package.path = (os.getenv("BENCH_LUA_DIR") or "bench") .. "/?.lua;" .. package.path
local common = require("common")

local words = {
	"invoice", "renewal", "delivery", "pricing", "training", "maintenance", "contract",
	"complaint", "discount", "shipment", "firmware", "certificate", "tender", "warranty",
	"forecast", "integration", "overdue", "penetration", "faktura", "leverans", "avtal",
	"customs", "calibration", "webinar",
}
local reqs, n = {}, 0

function setup(thread)
	common.setup(thread)
end

function init(args)
	common.init()
	for i, w in ipairs(words) do
		reqs[i] = wrk.format("GET", "/api/v1/interactions?q=" .. w .. "&kind=email&limit=20")
	end
	n = math.random(#reqs) - 1
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
