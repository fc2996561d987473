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
-- globals: the names a flow's sandboxed _ENV provides; everything else is undefined.
-- os_safe: the part of `os` a flow may use (no execute, exit, getenv, remove, rename,
--          tmpname, setlocale).
return {
  primitives = {
    answer = {options = {"modalities", "prefetch", "participant_capacity"}},
    reject = {options = {"reason"}},
    redirect = {options = {"targets", "timeout", "voicemail", "disposition", "mask_callee", "mask_caller"}},
    play = {options = {"barge_in", "loop", "timeout"}, options_arg = 2, prompt_args = {1}},
    gather = {
      options = {"prompt", "max", "min", "timeout", "inter_digit", "terminators", "flush"},
      prompt_options = {"prompt"},
    },
    menu = {
      options = {"prompt", "options", "retries", "timeout", "invalid", "noinput", "flush"},
      prompt_options = {"prompt", "invalid", "noinput"},
    },
    record = {
      options = {"prompt", "beep", "max_duration", "max_silence", "initial_silence",
                 "stop_tones", "barge_in"},
      prompt_options = {"prompt"},
    },
    transfer = {options = {"target", "replaces", "transferee"}},
    invite = {options = {"participants", "replaces_call"}},
    participants = {},
    mute = {},
    unmute = {},
    mute_all = {},
    screen_sharing = {},
    recording_status = {},
    update_metadata = {},
    send_dtmf = {},
    cancel_media = {},
    sleep = {},
    hangup = {},
    on_hangup = {},
    wait_participant = {options = {"joined", "left", "count", "timeout"}},
    participant = {},
    mute_participant = {},
    remove_participant = {},
    start_hold_music = {options = {"prompt"}, options_arg = 2, prompt_options = {"prompt"}},
    stop_hold_music = {},
    tag = {},
    say = {options = {"voice", "lang", "rate", "barge_in"}, options_arg = 2},
    say_digits = {options = {"voice", "lang", "rate", "barge_in"}, options_arg = 2},
    say_number = {options = {"voice", "lang", "rate", "barge_in"}, options_arg = 2},
    say_date = {options = {"voice", "lang", "rate", "barge_in"}, options_arg = 2},
    say_time = {options = {"voice", "lang", "rate", "barge_in"}, options_arg = 2},
    say_money = {options = {"voice", "lang", "rate", "barge_in"}, options_arg = 3},
    set_language = {},
  },
  dialtone = {
    dial = {options = {"targets", "meeting", "chat", "flow", "subject", "application_instance", "modalities"}},
    ["meetings.create"] = {options = {"organizer", "subject", "start_time", "end_time", "attendees"}},
    ["meetings.get"] = {options = {"join_url", "organizer"}},
    http = {options = {"method", "url", "headers", "query", "body", "json", "timeout", "raise_for_status"}},
    now = {},
    hours = {options = {"tz", "mon_fri", "sat_sun", "daily", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
                        "holidays"}},
  },
  globals = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
    "type", "xpcall", "rawequal", "rawget", "rawlen", "rawset", "setmetatable",
    "getmetatable", "string", "table", "math", "utf8", "os", "print", "dialtone", "require",
    "_VERSION",
  },
  os_safe = {"clock", "date", "difftime", "time"},
}
