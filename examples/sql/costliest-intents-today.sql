-- The ten costliest intents (tasks) today (UTC). sqlite3 tollgate.db < examples/sql/costliest-intents-today.sql
SELECT agent, intent,
       COUNT(*) AS calls,
       printf('%.6f', SUM(cost_nanos) / 1e9) AS cost_usd,
       datetime(MIN(ts_ms) / 1000, 'unixepoch') AS first_call
FROM calls
WHERE intent IS NOT NULL
  AND ts_ms >= CAST(strftime('%s', 'now', 'start of day') AS INTEGER) * 1000
GROUP BY agent, intent
ORDER BY SUM(cost_nanos) DESC
LIMIT 10;
