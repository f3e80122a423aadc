-- Concurrent single-record creates: POST /api/v1/interactions with a small,
-- valid body (a call or note about a random organization). Only 201 counts.
-- Environment: BENCH_TOKEN, BENCH_MIN_ORG, BENCH_MAX_ORG.
package.path = (os.getenv("BENCH_LUA_DIR") or "bench") .. "/?.lua;" .. package.path
local common = require("common")

local min_id = common.env_int("BENCH_MIN_ORG", 1)
local max_id = common.env_int("BENCH_MAX_ORG")
local reqs, n = {}, 0

local subjects = {
	"Follow-up on the renewal", "Question about the latest invoice", "Delivery date confirmed",
	"Call about pricing for next year", "Training booked for new users", "Service visit planned",
}
local bodies = {
	"Spoke with the purchasing manager. They confirmed the order and asked for delivery before the end of the month.",
	"Short call: the invoice was approved and will be paid on Friday. No further action needed.",
	"They want a quote for twenty more licences and a training session in the spring. Sending a proposal this week.",
	"Maintenance window agreed for next Tuesday night; the technician will bring the spare parts.",
}
local kinds = { { "call", "outbound", "phone" }, { "note", "internal", "crm" }, { "email", "inbound", "email" } }

function setup(thread)
	common.setup(thread)
end

function init(args)
	common.init()
	local now = os.time()
	local headers = { ["Content-Type"] = "application/json" }
	for k, v in pairs(wrk.headers) do
		headers[k] = v
	end
	for i = 1, 2048 do
		local k = kinds[math.random(#kinds)]
		local body = string.format(
			'{"organization_id":%d,"kind":"%s","direction":"%s","channel":"%s",' ..
			'"occurred_at":"%s","subject":"%s","body":"%s","tags":["bench"]}',
			math.random(min_id, max_id), k[1], k[2], k[3],
			os.date("!%Y-%m-%dT%H:%M:%SZ", now - math.random(0, 30 * 86400)),
			subjects[math.random(#subjects)], bodies[math.random(#bodies)])
		reqs[i] = wrk.format("POST", "/api/v1/interactions", headers, body)
	end
end

function request()
	n = n + 1
	if n > #reqs then
		n = 1
	end
	return reqs[n]
end

function response(status, headers, body)
	common.count(status, 201)
end

done = common.done
