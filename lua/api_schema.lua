-- api_schema.lua — the machine-readable form of DESIGN.md's flow API table.
--
-- Pure data, no functions and no globals, so any Lua state can load it (the checker,
-- the runtime's sandbox builder, tests). Names here are the contract: `dialtone check`
-- flags calls to primitives that are not listed and option keys that are not listed.
--
-- primitives[NAME]:
--   options        option keys of the table argument; absent = the primitive takes no
--                  option table (positional arguments only)
--   options_arg    which argument is the option table (default 1)
--   prompt_args    positional arguments that are prompts: a name, a URL or a list of them
--   prompt_options option keys whose value is a prompt (or a list of prompts)
-- dialtone[NAME]: the same for dialtone.NAME(…) (option table: argument 1).
-- call_fields: the call handle's fields and their LuaLS types (`dialtone stubs`).
-- globals: the names a flow's sandboxed _ENV provides; everything else is undefined.
-- os_safe: the part of `os` a flow may use (no execute, exit, getenv, remove, rename,
--          tmpname, setlocale).
-- speech's options: call:say(text, opts) and the say helpers (say_money's come after the currency)
local function speech(arg) return {options = {"voice", "lang", "rate", "barge_in"}, options_arg = arg} end

local schema = {
  primitives = {
    answer = {options = {"modalities", "prefetch", "participant_capacity"}},
    reject = {options = {"reason"}},
    redirect = {options = {"targets", "timeout", "voicemail", "disposition", "mask_callee", "mask_caller"}},
    play = {options = {"barge_in", "loop", "timeout"}, options_arg = 2, prompt_args = {1}},
    gather = {
      options = {"prompt", "max", "min", "timeout", "inter_digit", "terminators", "flush",
                 "pattern", "invalid", "noinput", "retries"},
      prompt_options = {"prompt", "invalid", "noinput"},
    },
    confirm = {
      options = {"digits", "prompt", "question", "yes", "no", "retries", "timeout", "invalid",
                 "noinput", "readback", "digit_prompts", "flush"},
      prompt_options = {"prompt", "question", "invalid", "noinput"},
    },
    menu = {
      options = {"prompt", "options", "retries", "timeout", "invalid", "noinput", "flush", "name"},
      prompt_options = {"prompt", "invalid", "noinput"},
    },
    record = {
      options = {"prompt", "beep", "max_duration", "max_silence", "initial_silence",
                 "stop_tones", "barge_in"},
      prompt_options = {"prompt"},
    },
    transfer = {options = {"target", "replaces", "transferee"}},
    invite = {options = {"participants", "replaces_call"}},
    wait_participant = {options = {"joined", "left", "count", "timeout"}},
    start_hold_music = {options = {"prompt"}, options_arg = 2, prompt_options = {"prompt"}},
    say = speech(2),
    say_digits = speech(2),
    say_number = speech(2),
    say_date = speech(2),
    say_time = speech(2),
    say_money = speech(3),
  },
  dialtone = {
    dial = {options = {"targets", "meeting", "chat", "flow", "subject", "application_instance", "modalities"}},
    ["meetings.create"] = {options = {"organizer", "subject", "start_time", "end_time", "attendees"}},
    ["meetings.get"] = {options = {"join_url", "organizer"}},
    http = {options = {"method", "url", "headers", "query", "body", "json", "timeout", "raise_for_status"}},
    now = {},
    hours = {options = {"tz", "mon_fri", "sat_sun", "daily", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
                        "holidays"}},
    prompts = {options = {"pattern"}}, -- declares prompt names built at run time (checked)
  },
  -- the call handle's read-only fields and their LuaLS types (`dialtone stubs`)
  call_fields = {
    id = "string", from = "string", to = "string", direction = '"incoming"|"outgoing"',
    flow = "string", state = "string", ended = "boolean", buffered_digits = "string",
    dialed_by = "dialtone.Call?", language = "string",
  },
  globals = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
    "type", "xpcall", "rawequal", "rawget", "rawlen", "rawset", "setmetatable",
    "getmetatable", "string", "table", "math", "utf8", "os", "print", "dialtone", "require",
    "_VERSION",
  },
  os_safe = {"clock", "date", "difftime", "time"},
}

-- the primitives that take no option table
for _, name in ipairs {
  "participants", "mute", "unmute", "mute_all", "screen_sharing", "recording_status",
  "update_metadata", "send_dtmf", "cancel_media", "sleep", "hangup", "on_hangup", "participant",
  "mute_participant", "remove_participant", "stop_hold_music", "tag", "set_language"
} do
  schema.primitives[name] = {}
end

return schema
