-- wrk script for bench/webhook.py: replays pre-generated, signed WeChat pushes and counts the answers.
--
-- Usage: wrk ... -s bench/wrk_requests.lua http://127.0.0.1:PORT/wechat -- <prefix>
-- Thread k (0-based) loads "<prefix><k>.txt": one request per line, "<path>\t<body>". The files are
-- disjoint slices, so no MsgId is sent twice unless a thread runs out and starts over (counted as a wrap).
-- `done` prints one line "BENCH_RESULT {json}" that the Python side parses.

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("thread_id", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

function init(args)
   local prefix = args[1]
   if not prefix then
      error("pass the request file prefix after --")
   end
   paths, bodies = {}, {}
   for line in io.lines(prefix .. thread_id .. ".txt") do
      local tab = line:find("\t", 1, true)
      paths[#paths + 1] = line:sub(1, tab - 1)
      bodies[#bodies + 1] = line:sub(tab + 1)
   end
   loaded = #paths
   if loaded == 0 then
      error("no requests in " .. prefix .. thread_id .. ".txt")
   end
   headers = { ["Content-Type"] = "text/xml" }
   position = 0
   -- Counters read back in `done` through thread:get().
   sent, wraps = 0, 0
   non2xx, encrypted, success, other = 0, 0, 0, 0
end

function request()
   position = position + 1
   if position > loaded then
      position = 1
      wraps = wraps + 1
   end
   sent = sent + 1
   return wrk.format("POST", paths[position], headers, bodies[position])
end

function response(status, _, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   elseif body == "success" then
      success = success + 1
   elseif body:find("<Encrypt>", 1, true) then
      encrypted = encrypted + 1
   else
      other = other + 1
   end
end

function done(summary, latency, _)
   local totals = { sent = 0, wraps = 0, loaded = 0, non2xx = 0, encrypted = 0, success = 0, other = 0 }
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + (thread:get(name) or 0)
      end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "mean": %.1f, "max": %d}, '
         .. '"sent": %d, "wraps": %d, "loaded": %d, '
         .. '"non2xx": %d, "encrypted": %d, "success": %d, "other": %d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
      totals.sent, totals.wraps, totals.loaded,
      totals.non2xx, totals.encrypted, totals.success, totals.other
   ))
end
