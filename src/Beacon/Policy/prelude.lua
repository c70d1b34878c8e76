-- Beacon's policy sandbox: the subset of Momentum's msys API that policy scripts use (docs/policy.md).
-- This file runs with the full standard library; scripts see only the `sandbox` table below.
local sethook, raw_pcall, raw_xpcall, raw_error, raw_load = debug.sethook, pcall, xpcall, error, load
local insert, remove, lower, pack, unpack = table.insert, table.remove, string.lower, table.pack, table.unpack
local BUDGET = "instruction budget exceeded"

local getinfo = debug.getinfo
local budget = 10000000
local active, exceeded = false, false
local modules, logs = {}, {}

-- The count hook fires every `budget` VM instructions: the first time means the budget is spent. From then
-- on it fires after every instruction, so a script that catches the error only gets it again. The message
-- names the line that was running, for the operator's log.
local function on_count()
  if not active then return end
  if not exceeded then
    local where = getinfo(2, "Sl")
    exceeded = where and (where.short_src .. ":" .. tostring(where.currentline) .. ": " .. BUDGET) or BUDGET
  end
  sethook(on_count, "", 1)
  raw_error(exceeded, 0)
end

local msys = { core = {
  ECMESS_CTX_MESS = 1, ECMESS_CTX_CONN = 2,
  VALIDATE_CONT = 0, VALIDATE_DONE = 1, VALIDATE_AGAIN = 2,
} }

function msys.registerModule(name, mod)
  if type(mod) ~= "table" then raw_error("msys.registerModule: module must be a table", 2) end
  modules[#modules + 1] = { name = tostring(name), mod = mod }
end

local sandbox = {}
for _, name in ipairs({ "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen", "rawset",
    "select", "tonumber", "tostring", "type", "setmetatable", "getmetatable", "_VERSION" }) do
  sandbox[name] = _G[name]
end
local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end
sandbox.string, sandbox.table, sandbox.math, sandbox.utf8 = copy(string), copy(table), copy(math), copy(utf8)
sandbox.os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime }
sandbox.msys = msys
sandbox._G = sandbox

-- pcall and xpcall must not swallow the budget error.
local function rethrow(results)
  if exceeded then raw_error(exceeded, 0) end
  return unpack(results, 1, results.n)
end
sandbox.pcall = function(...) return rethrow(pack(raw_pcall(...))) end
sandbox.xpcall = function(...) return rethrow(pack(raw_xpcall(...))) end

sandbox.require = function(name)
  if name == "msys" or (type(name) == "string" and name:sub(1, 5) == "msys.") then return msys end
  raw_error("module '" .. tostring(name) .. "' is not available in the Beacon policy sandbox", 2)
end

sandbox.print = function(...)
  local parts = pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  logs[#logs + 1] = table.concat(parts, "\t", 1, parts.n)
end

-- msg: the message (or connection) the hook looks at.
local Msg = {}
Msg.__index = Msg

local function context(self, kind)
  if kind == msys.core.ECMESS_CTX_CONN then return self._conn end
  if kind == msys.core.ECMESS_CTX_MESS or kind == nil then return self._mess end
  raw_error("unknown context type " .. tostring(kind), 3)
end

function Msg:context_get(kind, key) return context(self, kind)[tostring(key)] end
function Msg:context_set(kind, key, value) context(self, kind)[tostring(key)] = tostring(value) end
function Msg:context_delete(kind, key) context(self, kind)[tostring(key)] = nil end
function Msg:mailfrom() return self._mailfrom end
function Msg:rcptto() return self._rcptto end

-- msg:header(name) returns every value; msg:header(name, value) replaces them all with one;
-- msg:header(name, value, "append" | "prepend") adds one; msg:header(name, nil) removes them all.
function Msg:header(name, ...)
  local headers = self._headers
  if headers == nil then raw_error("msg:header is only available in the data phases", 2) end
  name = tostring(name)
  local key = lower(name)
  if select("#", ...) == 0 then
    local values = {}
    for _, h in ipairs(headers) do if h.key == key then values[#values + 1] = h.value end end
    return values
  end
  local value, mode = ...
  self._changed = true
  if value == nil then
    for i = #headers, 1, -1 do if headers[i].key == key then remove(headers, i) end end
    return
  end
  local entry = { name = name, key = key, value = tostring(value) }
  if mode == "append" then insert(headers, entry) return end
  if mode == "prepend" then insert(headers, 1, entry) return end
  local first
  for i = #headers, 1, -1 do
    if headers[i].key == key then
      if first then remove(headers, first) end
      first = i
    end
  end
  if first then headers[first] = entry else insert(headers, entry) end
end

local Vctx = {}
Vctx.__index = Vctx
function Vctx:set_code(code, text)
  self.code = math.tointeger(tonumber(code))
  self.text = text ~= nil and tostring(text) or nil
end
function Vctx:get_code() return self.code, self.text end

local with_argument = { ehlo = true, mailfrom = true, rcptto = true }

-- Called by Beacon for every hook. `input` holds plain strings; the result reports every change back.
function __beacon_run(phase, input)
  local msg = setmetatable({ _conn = input.conn, _mess = input.mess, _headers = input.headers,
    _mailfrom = input.mailfrom, _rcptto = input.rcptto, _changed = false }, Msg)
  local vctx = setmetatable({}, Vctx)
  local accept = {}
  local hook = "validate_" .. phase
  logs, exceeded = {}, false
  local ok, err = raw_pcall(function()
    active = true
    sethook(on_count, "", budget)
    for _, m in ipairs(modules) do
      local f = m.mod[hook]
      if f ~= nil then
        local verdict
        if with_argument[phase] then verdict = f(m.mod, msg, input.arg, accept, vctx)
        else verdict = f(m.mod, msg, accept, vctx) end
        if (vctx.code ~= nil and vctx.code >= 400) or verdict == msys.core.VALIDATE_DONE then break end
      end
    end
  end)
  active = false
  sethook()
  return { ok = ok, error = (not ok) and tostring(err) or nil, code = vctx.code, text = vctx.text,
    conn = msg._conn, mess = msg._mess, headers = msg._changed and msg._headers or nil, logs = logs }
end

-- Loads one policy script into the sandbox (text only, never bytecode) and runs its top level under the budget.
function __beacon_load(chunkname, source, instruction_budget)
  budget = instruction_budget
  local chunk, err = raw_load(source, "@" .. chunkname, "t", sandbox)
  if chunk == nil then raw_error(err, 0) end
  local ok, run_err = raw_pcall(function()
    active = true
    sethook(on_count, "", budget)
    chunk()
  end)
  active = false
  sethook()
  if not ok then raw_error(tostring(run_err), 0) end
end

-- Which hooks the loaded modules implement.
function __beacon_hooks()
  local names = {}
  for _, m in ipairs(modules) do
    for k, v in pairs(m.mod) do
      if type(k) == "string" and type(v) == "function" and k:sub(1, 9) == "validate_" then names[#names + 1] = k:sub(10) end
    end
  end
  return table.concat(names, ",")
end
