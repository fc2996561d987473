-- meetings_beta_test.lua — meetings_test.lua's tests in the beta dialect: the meeting is
-- created at /app/onlineMeetings (its organizer in the body) and found there by JoinWebUrl; the
-- legs join over /app/calls.
local test = require "dialtone.test"
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "meetings_test.lua")
test.options{dialect = "beta"}
