-- Calls whose usage Tollgate counted because the provider reported none (cut streams, agents that hung up).
SELECT datetime(ts_ms / 1000, 'unixepoch') AS at, agent, intent, model, status,
       input_tokens, output_tokens, printf('%.6f', cost_usd) AS cost_usd
FROM calls_usd
WHERE usage_source = 'counted'
ORDER BY ts_ms DESC
LIMIT 50;
