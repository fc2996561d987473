-- check.lua — the rules of `dialtone check` (the C half, options and exit codes, is
-- src/check.c; the names it checks against come from lua/api_schema.lua).
--
-- check.c runs this chunk as chunk(schema, native) in a private lua_State, where native
-- has bytecode(dump), run_sandboxed(source, globals, os_safe) and kind(path). It returns
-- a module with run(files, opts) -> report text, number of problems.
--
-- Per file, in this order: read it (at most 1 MiB); compile it (a syntax error is the only
-- problem reported for that file); list global accesses from the bytecode; tokenize it and
-- look at every `call:method(…)` (the flow's call parameter and `call`) and
-- `dialtone.dial{…}`; run its top-level code in a sandbox and demand a function back.
-- Problems are reported sorted by line.
local schema, native = ...

local byte, sub, find, match = string.byte, string.sub, string.find, string.match
local fmt = string.format

local MAX_FILE = 1024 * 1024

local function set(list)
  local s = {}
  for _, v in ipairs(list or {}) do s[v] = true end
  return s
end

local ALLOWED = set(schema.globals)
local OS_SAFE = set(schema.os_safe)
local PRIMITIVE_NAMES = {}
for name in pairs(schema.primitives) do PRIMITIVE_NAMES[#PRIMITIVE_NAMES + 1] = name end
table.sort(PRIMITIVE_NAMES)

local KEYWORDS = set {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
  "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
}
local OPENS_BLOCK = set {"function", "if", "do", "repeat"}
local CLOSES_BLOCK = set {"end", "until"}
local TWO_CHAR_OPS = set {"::", "..", "==", "~=", "<=", ">=", "//", "<<", ">>"}

---------------------------------------------------------------------------------------------
-- Suggestions: optimal string alignment distance, at most 2 edits.
---------------------------------------------------------------------------------------------

local function distance(a, b)
  local la, lb = #a, #b
  if math.abs(la - lb) > 2 then return math.huge end
  local d = {}
  for i = 0, la do d[i] = {[0] = i} end
  for j = 0, lb do d[0][j] = j end
  for i = 1, la do
    for j = 1, lb do
      local cost = byte(a, i) == byte(b, j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and byte(a, i) == byte(b, j - 1) and byte(a, i - 1) == byte(b, j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[la][lb]
end

local function suggest(word, candidates)
  local best, bestd
  for _, c in ipairs(candidates or {}) do
    local dd = distance(word, c)
    if dd <= 2 and dd < #word and (bestd == nil or dd < bestd or (dd == bestd and c < best)) then
      best, bestd = c, dd
    end
  end
  return best and fmt(" (did you mean '%s'?)", best) or ""
end

---------------------------------------------------------------------------------------------
-- Tokenizer: names, strings (with their values), numbers, operators; comments and
-- whitespace dropped. Each token is {t = "name"|"string"|"number"|"op", v = text, line = n}.
-- Only ever run on source that compiled, so it need not diagnose anything.
---------------------------------------------------------------------------------------------

local function tokenize(src)
  local toks, n = {}, 0
  local pos, line, len = 1, 1, #src

  local function push(t, v, l)
    n = n + 1
    toks[n] = {t = t, v = v, line = l}
  end

  -- src[p] is \n or \r; \r\n and \n\r count as one line break, as in llex.c.
  local function after_newline(p)
    local c, d = byte(src, p), byte(src, p + 1)
    if (d == 10 or d == 13) and d ~= c then return p + 2 end
    return p + 1
  end

  local function count_lines(from, to)
    local count, p = 0, from
    while p <= to do
      local c = byte(src, p)
      if c == 10 or c == 13 then
        count = count + 1
        p = after_newline(p)
      else
        p = p + 1
      end
    end
    return count
  end

  -- A long bracket opening at p with level eqs: returns content start, content end and the
  -- position of the last byte of the closing bracket.
  local function long_bracket(p, eqs)
    local cs = p + #eqs + 2
    local s, e = find(src, "]" .. eqs .. "]", cs, true)
    if not s then s, e = len + 1, len end
    return cs, s - 1, e
  end

  -- Skips white space from p, line breaks included (counted in line); returns the
  -- position of the first other byte (len + 1 at the end).
  local function skip_blank(p)
    while p <= len do
      local c = byte(src, p)
      if c == 10 or c == 13 then
        line = line + 1
        p = after_newline(p)
      elseif c == 32 or c == 9 or c == 11 or c == 12 then
        p = p + 1
      else
        break
      end
    end
    return p
  end

  while true do
    pos = skip_blank(pos)
    if pos > len then break end
    local c = byte(src, pos)
    if c == 45 and byte(src, pos + 1) == 45 then -- comment
      local eqs = match(src, "^%[(=*)%[", pos + 2)
      if eqs then
        local _, _, e = long_bracket(pos + 2, eqs)
        line = line + count_lines(pos, e)
        pos = e + 1
      else
        pos = find(src, "[\r\n]", pos) or len + 1
      end
    elseif c == 91 and match(src, "^%[=*%[", pos) then -- long string
      local eqs = match(src, "^%[(=*)%[", pos)
      local cs, ce, e = long_bracket(pos, eqs)
      if cs <= ce and (byte(src, cs) == 10 or byte(src, cs) == 13) then cs = after_newline(cs) end
      push("string", sub(src, cs, ce), line)
      line = line + count_lines(pos, e)
      pos = e + 1
    elseif c == 34 or c == 39 then -- quoted string
      local p, escaped, first_line = pos + 1, false, line
      while p <= len do
        local d = byte(src, p)
        if d == c or d == 10 or d == 13 then break end
        if d == 92 then
          escaped = true
          local e = byte(src, p + 1)
          if e == 10 or e == 13 then
            line = line + 1
            p = after_newline(p + 1)
          elseif e == 122 then -- \z skips the following white space, line breaks included
            p = skip_blank(p + 2)
          else
            p = p + 2
          end
        else
          p = p + 1
        end
      end
      local value = sub(src, pos + 1, p - 1)
      if escaped then
        -- The literal compiled already; let Lua decode its escapes.
        local f = load("return " .. sub(src, pos, p), "=literal", "t", {})
        local ok, v = false, nil
        if f then ok, v = pcall(f) end
        if ok and type(v) == "string" then value = v end
      end
      push("string", value, first_line)
      pos = p + 1
    elseif (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or c == 95 then
      local s, e = find(src, "^[A-Za-z_][A-Za-z0-9_]*", pos)
      push("name", sub(src, s, e), line)
      pos = e + 1
    elseif (c >= 48 and c <= 57) or (c == 46 and match(src, "^%d", pos + 1)) then
      local p = pos
      while p <= len do
        local d = byte(src, p)
        if d == 101 or d == 69 or d == 112 or d == 80 then -- e E p P, maybe a signed exponent
          p = p + 1
          local s = byte(src, p)
          if s == 43 or s == 45 then p = p + 1 end
        elseif (d >= 48 and d <= 57) or (d >= 65 and d <= 90) or (d >= 97 and d <= 122) or d == 46 then
          p = p + 1
        else
          break
        end
      end
      push("number", sub(src, pos, p - 1), line)
      pos = p
    else
      local op = sub(src, pos, pos + 2)
      if op ~= "..." then
        op = sub(src, pos, pos + 1)
        if not TWO_CHAR_OPS[op] then op = sub(src, pos, pos) end
      end
      push("op", op, line)
      pos = pos + #op
    end
  end
  return toks
end

local function is_op(t, v) return t ~= nil and t.t == "op" and t.v == v end
local function is_kw(t, v) return t ~= nil and t.t == "name" and t.v == v end
local function is_name(t) return t ~= nil and t.t == "name" and not KEYWORDS[t.v] end

-- Pairs brackets and blocks: match[i] = j for ( { [ function if do repeat and their
-- closers. Also returns the index of the last `return` outside any bracket or block.
local function pair_up(toks)
  local m, stack, sp, last_return = {}, {}, 0, nil
  for i = 1, #toks do
    local t = toks[i]
    local v = t.v
    local opens = (t.t == "op" and (v == "(" or v == "{" or v == "[")) or
                  (t.t == "name" and OPENS_BLOCK[v])
    local closes = (t.t == "op" and (v == ")" or v == "}" or v == "]")) or
                   (t.t == "name" and CLOSES_BLOCK[v])
    if opens then
      sp = sp + 1
      stack[sp] = i
    elseif closes then
      if sp > 0 then
        m[stack[sp]] = i
        m[i] = stack[sp]
        stack[sp] = nil
        sp = sp - 1
      end
    elseif sp == 0 and t.t == "name" and v == "return" then
      last_return = i
    end
  end
  return m, last_return
end

local function skips_nested(toks, m, j)
  local t = toks[j]
  if (t.t == "op" and (t.v == "(" or t.v == "{" or t.v == "[")) or
     (t.t == "name" and OPENS_BLOCK[t.v]) then
    return (m[j] or #toks) + 1
  end
  return nil
end

-- The arguments of a call whose argument list starts at token i: a list of {first, last}
-- token ranges, or nil when there is no argument list there.
local function call_args(toks, m, i)
  local t = toks[i]
  if t == nil then return nil end
  if t.t == "string" then return {{first = i, last = i}} end
  if is_op(t, "{") and m[i] then return {{first = i, last = m[i]}} end
  if not (is_op(t, "(") and m[i]) then return nil end
  local close, args, s, j = m[i], {}, i + 1, i + 1
  while j < close do
    local nj = skips_nested(toks, m, j)
    if nj then
      j = nj
    elseif is_op(toks[j], ",") then
      args[#args + 1] = {first = s, last = j - 1}
      s, j = j + 1, j + 1
    else
      j = j + 1
    end
  end
  if s < close then args[#args + 1] = {first = s, last = close - 1} end
  return args
end

local function is_table_range(toks, m, r)
  return is_op(toks[r.first], "{") and m[r.first] == r.last
end

-- The fields of the table constructor opening at token open: {key=, key_tok=, vfirst=,
-- vlast=} for `name = v` and `["name"] = v`, {computed=true, …} for other `[k] = v`,
-- {vfirst=, vlast=} for positional items.
local function table_fields(toks, m, open)
  local close = m[open]
  local fields, s, j = {}, open + 1, open + 1
  local function finish(e)
    if e < s then return end
    local f = {vlast = e}
    local a = toks[s]
    if is_name(a) and is_op(toks[s + 1], "=") then
      f.key, f.key_tok, f.vfirst = a.v, s, s + 2
    elseif is_op(a, "[") and toks[s + 1].t == "string" and m[s] == s + 2 and is_op(toks[s + 3], "=") then
      f.key, f.key_tok, f.vfirst = toks[s + 1].v, s + 1, s + 4
    elseif is_op(a, "[") then
      f.computed, f.vfirst = true, (m[s] or e) + 2
    else
      f.vfirst = s
    end
    fields[#fields + 1] = f
  end
  while j < close do
    local nj = skips_nested(toks, m, j)
    if nj then
      j = nj
    elseif is_op(toks[j], ",") or is_op(toks[j], ";") then
      finish(j - 1)
      s, j = j + 1, j + 1
    else
      j = j + 1
    end
  end
  finish(close - 1)
  return fields
end

-- The flow's call parameter: the first parameter of the function the chunk returns, for
-- `return function(c) … end` and `local function main(c) … end return main`.
local function first_param(toks, i)
  if is_op(toks[i], "(") and is_name(toks[i + 1]) then return toks[i + 1].v end
  return nil
end

local function flow_param(toks, ret)
  if ret == nil then return nil end
  local r1 = toks[ret + 1]
  if is_kw(r1, "function") then return first_param(toks, ret + 2) end
  if is_name(r1) and (toks[ret + 2] == nil or is_op(toks[ret + 2], ";")) then
    for i = ret - 1, 1, -1 do
      if is_kw(toks[i], "function") and is_name(toks[i + 1]) and toks[i + 1].v == r1.v and
         is_op(toks[i + 2], "(") then
        return first_param(toks, i + 2)
      end
      if toks[i].t == "name" and toks[i].v == r1.v and is_op(toks[i + 1], "=") and
         is_kw(toks[i + 2], "function") then
        return first_param(toks, i + 3)
      end
    end
  end
  return nil
end

---------------------------------------------------------------------------------------------
-- The checks of one file.
---------------------------------------------------------------------------------------------

-- A primitive's option names as a set, made once per spec.
local OPTION_SETS, PROMPT_OPTION_SETS = {}, {}
local function memo_set(cache, spec, names)
  local s = cache[spec]
  if s == nil then
    s = set(names)
    cache[spec] = s
  end
  return s
end
local function option_set(spec) return memo_set(OPTION_SETS, spec, spec.options) end
local function prompt_option_set(spec) return memo_set(PROMPT_OPTION_SETS, spec, spec.prompt_options) end

local function problem(ctx, line, check, message)
  local list = ctx.problems
  list[#list + 1] = {file = ctx.file, line = line, check = check, message = message,
                     seq = #list + 1}
  ctx.lines[line] = true
end

-- The string literals a range names as prompts: one literal, or a table constructor's
-- positional literals. Anything computed is left alone.
local function prompt_literals(ctx, first, last)
  local toks, m = ctx.toks, ctx.match
  if first == last and toks[first].t == "string" then return {toks[first]} end
  local out = {}
  if is_op(toks[first], "{") and m[first] == last then
    for _, f in ipairs(table_fields(toks, m, first)) do
      if not f.key and not f.computed and f.vfirst == f.vlast and toks[f.vfirst].t == "string" then
        out[#out + 1] = toks[f.vfirst]
      end
    end
  end
  return out
end

local function check_prompts(ctx, first, last)
  for _, tok in ipairs(prompt_literals(ctx, first, last)) do
    local name = tok.v
    if match(name, "^[Hh][Tt][Tt][Pp][Ss]?:") then
      -- URLs are fetched by Graph, not from the prompts directory.
    elseif name == "" then
      problem(ctx, tok.line, "prompt", "empty prompt name")
    elseif find(name, "\0", 1, true) or sub(name, 1, 1) == "/" or
           find("/" .. name .. "/", "/../", 1, true) then
      problem(ctx, tok.line, "prompt", fmt("prompt '%s' is outside the prompts directory", name))
    else
      local path = ctx.prompts_dir .. "/" .. name .. ".wav"
      -- a transcript NAME.txt without its recording is spoken (tts.prompts, on by default)
      if native.kind(path) ~= "file" and native.kind(ctx.prompts_dir .. "/" .. name .. ".txt") ~= "file" then
        problem(ctx, tok.line, "prompt", fmt("prompt '%s' has no file %s", name, path))
      end
    end
  end
end

-- A call of spec (a primitive or dialtone.X) named label, whose name token is ntok and
-- whose argument list starts at token argi.
local function check_call(ctx, spec, label, ntok, argi, method)
  local toks, m = ctx.toks, ctx.match
  local args = call_args(toks, m, argi)
  if args == nil then return end
  local opts = spec.options and args[spec.options_arg or 1]
  if opts and is_table_range(toks, m, opts) then
    local allowed, prompt_keys, present = option_set(spec), prompt_option_set(spec), {}
    for _, f in ipairs(table_fields(toks, m, opts.first)) do
      if f.key then
        present[f.key] = true
        if not allowed[f.key] then
          problem(ctx, toks[f.key_tok].line, "option", fmt("unknown option '%s' for %s%s",
                  f.key, label, suggest(f.key, spec.options)))
        elseif prompt_keys[f.key] then
          check_prompts(ctx, f.vfirst, f.vlast)
        end
      end
    end
    if method == "menu" then
      if not present.invalid then
        problem(ctx, ntok.line, "menu", fmt("%s has no invalid= prompt for a wrong key", label))
      end
      if not present.noinput then
        problem(ctx, ntok.line, "menu", fmt("%s has no noinput= prompt for when no key is pressed", label))
      end
    end
  end
  for _, k in ipairs(spec.prompt_args or {}) do
    local a = args[k]
    if a then check_prompts(ctx, a.first, a.last) end
  end
end

local function check_calls(ctx)
  local toks = ctx.toks
  local objects = {call = true}
  if ctx.param then objects[ctx.param] = true end
  for i = 1, #toks do
    local t = toks[i]
    local prev = toks[i - 1]
    if t.t == "name" and not (is_op(prev, ".") or is_op(prev, ":") or is_kw(prev, "function")) then
      local ntok = toks[i + 2]
      if objects[t.v] and is_op(toks[i + 1], ":") and is_name(ntok) then
        local spec = schema.primitives[ntok.v]
        local label = t.v .. ":" .. ntok.v
        if type(spec) ~= "table" then
          problem(ctx, ntok.line, "primitive", fmt("unknown primitive '%s'%s", label,
                  suggest(ntok.v, PRIMITIVE_NAMES)))
        else
          check_call(ctx, spec, label, ntok, i + 3, ntok.v)
        end
      elseif t.v == "dialtone" and is_op(toks[i + 1], ".") and is_name(ntok) then
        local spec = schema.dialtone[ntok.v]
        local sub = toks[i + 4]
        if type(spec) == "table" then
          check_call(ctx, spec, "dialtone." .. ntok.v, ntok, i + 3, nil)
        elseif is_op(toks[i + 3], ".") and is_name(sub) and type(schema.dialtone[ntok.v .. "." .. sub.v]) == "table" then
          check_call(ctx, schema.dialtone[ntok.v .. "." .. sub.v], "dialtone." .. ntok.v .. "." .. sub.v, sub, i + 5, nil)
        end
      end
    end
  end
end

local function check_globals(ctx, bc)
  local seen = {}
  for _, a in ipairs(bc.globals) do
    local key = a.line .. "\0" .. a.name .. "\0" .. (a.field or "") .. (a.write and "w" or "r")
    if not seen[key] then
      seen[key] = true
      if a.field then
        if a.name == "os" and not OS_SAFE[a.field] then
          problem(ctx, a.line, "global", fmt("os.%s is not available in flows", a.field))
        end
      elseif not ALLOWED[a.name] then
        if a.write then
          problem(ctx, a.line, "global", fmt("assignment to undefined global '%s'", a.name))
        else
          problem(ctx, a.line, "global", fmt("undefined global '%s'%s", a.name,
                  suggest(a.name, schema.globals)))
        end
      end
    end
  end
end

local function check_returns_function(ctx, src, bc)
  local status, detail = native.run_sandboxed(src, schema.globals, schema.os_safe)
  if status == "value" then
    problem(ctx, bc.return_line, "return",
            fmt("flow does not return a function (it returns a %s value)", detail))
  elseif status == "none" then
    problem(ctx, bc.return_line, "return", "flow does not return a function (it returns nothing)")
  elseif status == "error" then
    local l, msg = match(detail or "", "^flow:(%d+): (.*)$")
    l = tonumber(l) or 1
    -- An undefined global called at top level is already reported on its line.
    if not ctx.lines[l] then
      problem(ctx, l, "return", "error at load time: " .. (msg or detail or "?"))
    end
  end
end

local function dirname(path)
  local d = match(path, "^(.*)/[^/]*$")
  if d == nil then return nil end
  if d == "" then return "/" end
  return d
end

local function join(dir, name)
  if sub(dir, -1) == "/" then return dir .. name end
  return dir .. "/" .. name
end

local function check_file(path, opts, out)
  local ctx = {file = path, problems = {}, lines = {}}
  local prompts = opts.prompts
  if prompts then
    prompts = prompts:gsub("(.)/+$", "%1")
  else
    local d = dirname(path)
    prompts = d and join(d, "prompts") or "prompts"
  end
  ctx.prompts_dir = prompts

  local f, err = io.open(path, "rb")
  local src
  if f then
    src = f:read(MAX_FILE + 1) or ""
    f:close()
  end
  if src == nil then
    problem(ctx, 1, "file", "cannot read: " .. tostring(err))
  elseif #src > MAX_FILE then
    problem(ctx, 1, "file", fmt("file is larger than %d bytes", MAX_FILE))
  else
    local fn, serr = load(src, "=flow", "t", {})
    if fn == nil then
      local l, msg = match(serr, "^flow:(%d+): (.*)$")
      problem(ctx, tonumber(l) or 1, "syntax", "syntax error: " .. (msg or serr))
    else
      local bc, berr = native.bytecode(string.dump(fn))
      if bc == nil then
        problem(ctx, 1, "internal", "cannot analyse the compiled flow: " .. tostring(berr))
        bc = {globals = {}, return_line = 1}
      end
      check_globals(ctx, bc)
      ctx.toks = tokenize(src)
      local last_return
      ctx.match, last_return = pair_up(ctx.toks)
      ctx.param = flow_param(ctx.toks, last_return)
      check_calls(ctx)
      check_returns_function(ctx, src, bc)
    end
  end
  table.sort(ctx.problems, function(a, b)
    if a.line ~= b.line then return a.line < b.line end
    return a.seq < b.seq
  end)
  for _, p in ipairs(ctx.problems) do out[#out + 1] = p end
end

---------------------------------------------------------------------------------------------
-- Output.
---------------------------------------------------------------------------------------------

local JSON_ESCAPES = {['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}

local function json_string(s)
  -- Bytes that are not valid UTF-8 are passed as Latin-1 code points so the output
  -- stays valid JSON whatever a file name contains.
  local pattern = utf8.len(s) and '[%c"\\]' or '[%c"\\\128-\255]'
  return '"' .. (s:gsub(pattern, function(c)
    return JSON_ESCAPES[c] or fmt("\\u%04x", byte(c))
  end)) .. '"'
end

local M = {}

function M.run(files, opts)
  opts = opts or {}
  local problems = {}
  for _, path in ipairs(files) do check_file(path, opts, problems) end
  local out = {}
  if opts.format == "json" then
    for i, p in ipairs(problems) do
      out[i] = fmt('  {"file": %s, "line": %d, "check": %s, "message": %s}',
                   json_string(p.file), p.line, json_string(p.check), json_string(p.message))
    end
    if #out == 0 then return "[]\n", 0 end
    return "[\n" .. table.concat(out, ",\n") .. "\n]\n", #problems
  end
  for i, p in ipairs(problems) do out[i] = fmt("%s:%d: %s\n", p.file, p.line, p.message) end
  out[#out + 1] = fmt("checked %d flows, %d problems\n", #files, #problems)
  return table.concat(out), #problems
end

-- For tests and the runtime: the pieces, without the file system.
M.tokenize = tokenize

return M
