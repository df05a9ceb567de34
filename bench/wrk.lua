-- wrk script for Conduit's benchmark (bench/wrk.py runs it).
--
--   wrk ... -s bench/wrk.lua URL -- DATAFILE METHOD PATH AUTH BODY
--
-- DATAFILE: lines "kind<TAB>value" (kinds: token, slug, tag, author, username, email,
--           password).
-- METHOD:   an HTTP method, or "MIX": each request is then drawn from MIX below (PATH, AUTH
--           and BODY are ignored).
-- PATH:     a path template; {slug}, {tag}, {author} and {username} are replaced by a random
--           value of that kind for every request.
-- AUTH:     "token" (Authorization: Token <a random signed-in user's token>) or "none".
-- BODY:     "none", "login" (a random user's credentials), "article" (a new article) or
--           "comment" (a new comment).
-- At the end, one line "BENCHJSON {...}" with the counts and latency percentiles (ms).

local thread_counter = 0

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
end

local data = {}
local method, template, auth, body_kind
local sent = 0

local function load(path)
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    local kind, value = line:match("^([^\t]+)\t(.*)$")
    if kind then
      data[kind] = data[kind] or {}
      table.insert(data[kind], value)
    end
  end
  file:close()
end

local function pick(kind)
  local values = data[kind]
  if values == nil or #values == 0 then
    error("no values of kind " .. kind .. " in the data file")
  end
  return values[math.random(#values)]
end

function init(args)
  load(args[1])
  method, template, auth, body_kind = args[2], args[3], args[4], args[5]
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
end

local TEXT = string.rep("Benchmarks measure what they measure, nothing more. ", 12)
local COMMENT = string.rep("Measured, not guessed. ", 4)

-- The mixed workload: {per cent, method, path, body}, every request signed in as a random
-- user; 90 % reads, 10 % writes. The shares add up to 100: the last entry takes what a draw
-- leaves.
local MIX = {
  {18, "GET", "/api/articles", "none"},
  {18, "GET", "/api/articles/{slug}", "none"},
  {18, "GET", "/api/articles/{slug}/comments", "none"},
  {18, "GET", "/api/tags", "none"},
  {18, "GET", "/api/articles/feed", "none"},
  {2.5, "POST", "/api/articles", "article"},
  {2.5, "POST", "/api/articles/{slug}/favorite", "none"},
  {2.5, "POST", "/api/articles/{slug}/comments", "comment"},
  {2.5, "POST", "/api/profiles/{username}/follow", "none"},
}

local function draw()
  local r = math.random() * 100
  for _, entry in ipairs(MIX) do
    r = r - entry[1]
    if r < 0 then
      return entry[2], entry[3], "token", entry[4]
    end
  end
  local last = MIX[#MIX]
  return last[2], last[3], "token", last[4]
end

function request()
  sent = sent + 1
  local method, template, auth, body_kind = method, template, auth, body_kind
  if method == "MIX" then
    method, template, auth, body_kind = draw()
  end
  local path = template:gsub("{(%w+)}", pick)
  local headers = {}
  local body = nil
  if auth == "token" then
    headers["Authorization"] = "Token " .. pick("token")
  end
  if body_kind == "login" then
    headers["Content-Type"] = "application/json"
    body = '{"user":{"email":"' .. pick("email") .. '","password":"' .. data["password"][1] .. '"}}'
  elseif body_kind == "article" then
    headers["Content-Type"] = "application/json"
    local first, second = pick("tag"), pick("tag")
    local tags = '"' .. first .. '"'
    if second ~= first then
      tags = tags .. ',"' .. second .. '"'
    end
    local title = "Bench " .. (thread_id or 0) .. " " .. sent .. " " .. math.random(1000000000)
    body = '{"article":{"title":"' .. title .. '","description":"Written by the load test",'
      .. '"body":"' .. TEXT .. '","tagList":[' .. tags .. "]}}"
  elseif body_kind == "comment" then
    headers["Content-Type"] = "application/json"
    body = '{"comment":{"body":"' .. COMMENT .. sent .. '"}}'
  end
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local ms = function(p) return latency:percentile(p) / 1000.0 end
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_ms":{"mean":%.3f,"stdev":%.3f,"max":%.3f,"p50":%.3f,"p90":%.3f,'
      .. '"p99":%.3f,"p999":%.3f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean / 1000.0, latency.stdev / 1000.0, latency.max / 1000.0,
    ms(50), ms(90), ms(99), ms(99.9)))
end
