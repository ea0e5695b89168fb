-- Cost by team this month (UTC), highest first. sqlite3 tollgate.db < examples/sql/cost-by-team-this-month.sql
SELECT COALESCE(team, '(none)') AS team,
       COUNT(*) AS calls,
       printf('%.6f', SUM(cost_nanos) / 1e9) AS cost_usd
FROM calls
WHERE ts_ms >= CAST(strftime('%s', 'now', 'start of month') AS INTEGER) * 1000
GROUP BY team
ORDER BY SUM(cost_nanos) DESC;
