-- wrk script: every request sends the next unused Authorization header from a file.
-- wrk -s bench/fresh.lua URL -- HEADERS_FILE THREADS
-- Each wrk thread takes every THREADS-th line, so no header is sent twice.  When a
-- thread runs out it sends a malformed credential (answered 401, counted non-2xx).
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(args[2])
  headers = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == id then
      headers[#headers + 1] = line
    end
    i = i + 1
  end
  idx = 0
end

function request()
  idx = idx + 1
  local h = headers[idx]
  if h == nil then
    h = "Basic eA=="
  end
  return wrk.format("GET", nil, { ["Authorization"] = h })
end
