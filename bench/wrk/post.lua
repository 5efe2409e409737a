-- wrk script of bench/payments_create.py: one POST per request, every one unique.
--
--   wrk ... -s bench/wrk/post.lua http://127.0.0.1:PORT -- <target> <keys file> <run id>
--
-- <target> is "payments" (POST /api/v1/payments, expects 201) or "reference" (POST
-- /api/bench/tpcb, expects 201). API keys, one a line, are rotated per request; each
-- request carries its own Idempotency-Key and merchant order id. done() prints one line
-- "BENCH_JSON {...}" that the Python side reads.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

function init(args)
   target = args[1]
   run_id = args[3]
   keys = {}
   for line in io.lines(args[2]) do
      if #line > 0 then
         table.insert(keys, line)
      end
   end
   counter = 0
   errors = 0
   first_error = ""
   if target == "payments" then
      path = "/api/v1/payments"
   else
      path = "/api/bench/tpcb"
   end
end

function request()
   counter = counter + 1
   local key = keys[((counter + thread_number) % #keys) + 1]
   local id = run_id .. "-" .. thread_number .. "-" .. counter
   local body
   if target == "payments" then
      body = string.format(
         '{"amount":%d,"currency":"CNY","channel":"alipay","merchant_order_id":"%s",' ..
         '"region":"CN-ZJ","description":"Benchmark order"}',
         100 + (counter * 7919) % 50000, id)
   else
      body = string.format('{"delta":%d}', (counter * 7919) % 10001 - 5000)
   end
   return wrk.format("POST", path, {
      ["Authorization"] = "Bearer " .. key,
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = id,
   }, body)
end

function response(status, headers, body)
   if status ~= 201 then
      errors = errors + 1
      if first_error == "" then
         first_error = status .. " " .. string.sub(body or "", 1, 200)
      end
   end
end

local function json_string(text)
   text = string.gsub(text, '[%c"\\]', function(char)
      return string.format("\\u%04x", string.byte(char))
   end)
   return '"' .. text .. '"'
end

function done(summary, latency, requests)
   local unexpected = 0
   local first = ""
   for _, thread in ipairs(threads) do
      unexpected = unexpected + thread:get("errors")
      if first == "" then
         first = thread:get("first_error")
      end
   end
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"unexpected_status":%d,' ..
      '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
      '"mean_us":%.1f,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"first_error":%s}\n',
      summary.requests, summary.duration, unexpected,
      summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
      latency.mean, latency:percentile(50), latency:percentile(95), latency:percentile(99),
      latency.max, json_string(first)))
end
