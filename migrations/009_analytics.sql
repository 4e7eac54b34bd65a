-- Up Migration

-- Seed 001's analytics objects: three materialized views (refreshed hourly and concurrently
-- by the analyticsRefresh schedule; each has a UNIQUE index, which REFRESH ... CONCURRENTLY
-- needs) and three query functions, over this project's tables. The session is seed 000's:
-- 5-minute bars opening 08:00-12:55 America/Bogota, Monday to Friday. SQL knows no holiday
-- calendar, so a Colombian holiday counts as a session with every bar missing.
--
-- Each view selects from a function instead of from usdcop_m5_ohlcv directly: a view on a
-- table makes a restore copy its rows instead of swapping the restored table in by rename
-- (src/restore/rename-swap.ts), and a function body records no dependency on the table.
-- The functions resolve names with the search_path they were created under (FROM CURRENT),
-- so a refresh finds the tables whatever the refreshing session's search_path.

-- Immutable parts only (extract from a timestamptz is stable), so callers inline it.
CREATE FUNCTION analytics_is_session_bar(bar timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT extract(isodow FROM bar AT TIME ZONE 'America/Bogota') BETWEEN 1 AND 5
     AND (bar AT TIME ZONE 'America/Bogota')::time BETWEEN '08:00' AND '12:55'
     AND date_bin('5 minutes', bar, timestamptz '2000-01-01 00:00+00') = bar
$$;
COMMENT ON FUNCTION analytics_is_session_bar(timestamptz) IS 'Whether a bar opening at this instant belongs to the Colombian session (holidays not known)';

CREATE FUNCTION analytics_session_bars(from_time timestamptz, to_time timestamptz) RETURNS SETOF timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT bar
  FROM generate_series(date_bin('5 minutes', from_time - interval '1 microsecond', timestamptz '2000-01-01 00:00+00') + interval '5 minutes',
                       to_time, interval '5 minutes') AS bar
  WHERE bar < to_time AND analytics_is_session_bar(bar)
$$;
COMMENT ON FUNCTION analytics_session_bars(timestamptz, timestamptz) IS 'The session bar opens in [from_time, to_time)';

CREATE FUNCTION analytics_session_bar_count(day date) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT count(*)::integer
  FROM analytics_session_bars(day::timestamp AT TIME ZONE 'America/Bogota', (day + 1)::timestamp AT TIME ZONE 'America/Bogota')
$$;
COMMENT ON FUNCTION analytics_session_bar_count(date) IS 'Session bars of a Bogota calendar day: 60 on a weekday, 0 at the weekend';

CREATE FUNCTION analytics_daily_ohlc_rows()
RETURNS TABLE (symbol text, trading_date date, open numeric, high numeric, low numeric, close numeric, volume bigint,
               bar_count integer, session_bars integer, expected_bars integer, completeness_pct numeric,
               first_bar_at timestamptz, last_bar_at timestamptz)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  WITH days AS (
    SELECT o.symbol, (o.time AT TIME ZONE 'America/Bogota')::date AS trading_date,
           (array_agg(o.open ORDER BY o.time))[1] AS open, max(o.high) AS high, min(o.low) AS low,
           (array_agg(o.close ORDER BY o.time DESC))[1] AS close, sum(o.volume)::bigint AS volume,
           count(*)::integer AS bar_count,
           (count(*) FILTER (WHERE analytics_is_session_bar(o.time)))::integer AS session_bars,
           min(o.time) AS first_bar_at, max(o.time) AS last_bar_at
    FROM usdcop_m5_ohlcv o
    GROUP BY 1, 2
  ), expected AS MATERIALIZED (
    SELECT d.trading_date, analytics_session_bar_count(d.trading_date) AS bars FROM (SELECT DISTINCT trading_date FROM days) d
  )
  SELECT d.symbol, d.trading_date, d.open, d.high, d.low, d.close, d.volume, d.bar_count, d.session_bars, e.bars,
         CASE WHEN e.bars > 0 THEN round(100.0 * least(d.session_bars, e.bars) / e.bars, 2) END,
         d.first_bar_at, d.last_bar_at
  FROM days d JOIN expected e USING (trading_date)
$$;

-- One row per symbol and Bogota trading day: OHLC from the day's first and last bars, and
-- how many of the session's bars arrived (completeness_pct NULL on a day with no session).
CREATE MATERIALIZED VIEW daily_ohlc_summary AS SELECT * FROM analytics_daily_ohlc_rows() WITH NO DATA;
CREATE UNIQUE INDEX daily_ohlc_summary_key ON daily_ohlc_summary (symbol, trading_date);

CREATE FUNCTION analytics_hourly_trading_rows()
RETURNS TABLE (symbol text, hour_start timestamptz, bogota_hour integer, bar_count integer, open numeric, high numeric,
               low numeric, close numeric, volume bigint, avg_volume_per_bar numeric, avg_bar_range numeric, max_bar_range numeric)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  SELECT o.symbol, date_trunc('hour', o.time, 'UTC'),
         extract(hour FROM date_trunc('hour', o.time, 'UTC') AT TIME ZONE 'America/Bogota')::integer,
         count(*)::integer,
         (array_agg(o.open ORDER BY o.time))[1], max(o.high), min(o.low), (array_agg(o.close ORDER BY o.time DESC))[1],
         sum(o.volume)::bigint, round(avg(o.volume), 2), round(avg(o.high - o.low), 4), max(o.high - o.low)
  FROM usdcop_m5_ohlcv o
  GROUP BY 1, 2
$$;

-- One row per symbol and clock hour (hour_start in UTC; bogota_hour its local hour of day):
-- how busy and how wide the bars were.
CREATE MATERIALIZED VIEW hourly_trading_metrics AS SELECT * FROM analytics_hourly_trading_rows() WITH NO DATA;
CREATE UNIQUE INDEX hourly_trading_metrics_key ON hourly_trading_metrics (symbol, hour_start);

-- The seeds' api_usage table (one row per provider call) does not exist here: the provider's
-- credits are counted per window in provider_rate_budget (migration 005), kept two days, so
-- this view reads the 'day' windows for credits spent and the 'minute' windows for how the
-- calls spread, and sets them against the bars the backfill ingested (source 'twelvedata')
-- on the same UTC day.
CREATE FUNCTION analytics_api_usage_rows()
RETURNS TABLE (provider text, usage_day date, credits_used integer, active_minutes integer, peak_minute_credits integer,
               credits_per_active_minute numeric, first_minute timestamptz, last_minute timestamptz,
               bars_backfilled integer, bars_per_credit numeric)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  WITH usage AS (
    SELECT b.provider, (b.window_start AT TIME ZONE 'UTC')::date AS usage_day,
           coalesce(sum(b.used) FILTER (WHERE b.window_kind = 'day'), 0)::integer AS credits_used,
           (count(*) FILTER (WHERE b.window_kind = 'minute' AND b.used > 0))::integer AS active_minutes,
           coalesce(max(b.used) FILTER (WHERE b.window_kind = 'minute'), 0)::integer AS peak_minute_credits,
           min(b.window_start) FILTER (WHERE b.window_kind = 'minute') AS first_minute,
           max(b.window_start) FILTER (WHERE b.window_kind = 'minute') AS last_minute
    FROM provider_rate_budget b
    GROUP BY 1, 2
  ), backfilled AS (
    SELECT (o.created_at AT TIME ZONE 'UTC')::date AS usage_day, count(*)::integer AS bars
    FROM usdcop_m5_ohlcv o
    WHERE o.source = 'twelvedata' AND o.created_at >= (SELECT min(window_start) FROM provider_rate_budget)
    GROUP BY 1
  )
  SELECT u.provider, u.usage_day, u.credits_used, u.active_minutes, u.peak_minute_credits,
         round(u.credits_used::numeric / nullif(u.active_minutes, 0), 2), u.first_minute, u.last_minute,
         coalesce(f.bars, 0), round(coalesce(f.bars, 0)::numeric / nullif(u.credits_used, 0), 2)
  FROM usage u LEFT JOIN backfilled f USING (usage_day)
$$;

CREATE MATERIALIZED VIEW api_usage_efficiency AS SELECT * FROM analytics_api_usage_rows() WITH NO DATA;
CREATE UNIQUE INDEX api_usage_efficiency_key ON api_usage_efficiency (provider, usage_day);

-- A day's session per symbol (all symbols with bars that day unless one is named), from the
-- session's bars only.
CREATE FUNCTION get_trading_session_stats(session_date date, only_symbol text DEFAULT NULL)
RETURNS TABLE (symbol text, bars_expected integer, bars_received integer, completeness_pct numeric,
               first_bar_at timestamptz, last_bar_at timestamptz, open numeric, high numeric, low numeric, close numeric,
               volume bigint, price_change numeric, price_change_pct numeric, avg_bar_range numeric)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  WITH session AS (
    SELECT session_date::timestamp AT TIME ZONE 'America/Bogota' AS starts,
           (session_date + 1)::timestamp AT TIME ZONE 'America/Bogota' AS ends
  ), expected AS MATERIALIZED (
    SELECT analytics_session_bar_count(session_date) AS bars
  ), stats AS (
    SELECT o.symbol, count(*)::integer AS bars, min(o.time) AS first_bar_at, max(o.time) AS last_bar_at,
           (array_agg(o.open ORDER BY o.time))[1] AS open, max(o.high) AS high, min(o.low) AS low,
           (array_agg(o.close ORDER BY o.time DESC))[1] AS close, sum(o.volume)::bigint AS volume,
           round(avg(o.high - o.low), 4) AS avg_bar_range
    FROM usdcop_m5_ohlcv o, session s
    WHERE o.time >= s.starts AND o.time < s.ends AND analytics_is_session_bar(o.time)
      AND (only_symbol IS NULL OR o.symbol = only_symbol)
    GROUP BY o.symbol
  )
  SELECT st.symbol, e.bars, st.bars, CASE WHEN e.bars > 0 THEN round(100.0 * st.bars / e.bars, 2) END,
         st.first_bar_at, st.last_bar_at, st.open, st.high, st.low, st.close, st.volume,
         st.close - st.open, round(100 * (st.close - st.open) / st.open, 4), st.avg_bar_range
  FROM stats st, expected e
  ORDER BY st.symbol
$$;

-- The last `minutes` before `as_of` (default now) for one symbol: the closed session bars that
-- should be there, which are, and a status: no_data (the symbol has no bar at all), closed
-- (no session bar was due), ok (none missing), stale (all missing), degraded (some missing).
CREATE FUNCTION check_realtime_data_quality(minutes integer DEFAULT 30, for_symbol text DEFAULT 'USD/COP', as_of timestamptz DEFAULT now())
RETURNS TABLE (symbol text, window_start timestamptz, window_end timestamptz, bars_expected integer, bars_received integer,
               missing_bars integer, completeness_pct numeric, zero_volume_bars integer, last_bar_at timestamptz,
               minutes_since_last_bar numeric, quality_status text)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  WITH w AS (
    -- A bar is due once it has closed: its open is before as_of rounded down to 5 minutes.
    SELECT as_of - make_interval(mins => minutes) AS starts,
           date_bin('5 minutes', as_of, timestamptz '2000-01-01 00:00+00') AS ends
  ), due AS (
    SELECT bar FROM w, analytics_session_bars(w.starts, w.ends) AS bar
  ), counts AS (
    SELECT (SELECT count(*) FROM due)::integer AS expected,
           count(o.time)::integer AS received,
           (count(o.time) FILTER (WHERE o.volume = 0))::integer AS zero_volume
    FROM due d LEFT JOIN usdcop_m5_ohlcv o ON o.symbol = for_symbol AND o.time = d.bar
  ), latest AS (
    SELECT max(o.time) AS bar FROM usdcop_m5_ohlcv o WHERE o.symbol = for_symbol AND o.time <= as_of
  )
  SELECT for_symbol, w.starts, w.ends, c.expected, c.received, c.expected - c.received,
         CASE WHEN c.expected > 0 THEN round(100.0 * c.received / c.expected, 2) END,
         c.zero_volume, l.bar, round(extract(epoch FROM as_of - l.bar) / 60, 1),
         CASE WHEN l.bar IS NULL THEN 'no_data'
              WHEN c.expected = 0 THEN 'closed'
              WHEN c.received = c.expected THEN 'ok'
              WHEN c.received = 0 THEN 'stale'
              ELSE 'degraded' END
  FROM w, counts c, latest l
$$;

-- Per symbol and weekday from first_day to last_day (both included): session bars expected,
-- present and missing. Symbols: the one named, else every symbol with a bar in the range.
CREATE FUNCTION calculate_data_completeness(first_day date, last_day date, only_symbol text DEFAULT NULL)
RETURNS TABLE (symbol text, trading_date date, expected_bars integer, actual_bars integer, missing_bars integer, completeness_pct numeric)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  WITH days AS MATERIALIZED (
    SELECT d::date AS trading_date, analytics_session_bar_count(d::date) AS expected
    FROM generate_series(first_day::timestamp, last_day::timestamp, interval '1 day') AS d
  ), present AS (
    SELECT o.symbol, (o.time AT TIME ZONE 'America/Bogota')::date AS trading_date, count(*)::integer AS bars
    FROM usdcop_m5_ohlcv o
    WHERE o.time >= first_day::timestamp AT TIME ZONE 'America/Bogota'
      AND o.time < (last_day + 1)::timestamp AT TIME ZONE 'America/Bogota'
      AND analytics_is_session_bar(o.time)
      AND (only_symbol IS NULL OR o.symbol = only_symbol)
    GROUP BY 1, 2
  ), symbols AS (
    SELECT only_symbol AS symbol WHERE only_symbol IS NOT NULL
    UNION SELECT DISTINCT p.symbol FROM present p WHERE only_symbol IS NULL
  )
  SELECT s.symbol, d.trading_date, d.expected, coalesce(p.bars, 0), d.expected - coalesce(p.bars, 0),
         round(100.0 * coalesce(p.bars, 0) / d.expected, 2)
  FROM symbols s CROSS JOIN days d
  LEFT JOIN present p ON p.symbol = s.symbol AND p.trading_date = d.trading_date
  WHERE d.expected > 0
  ORDER BY s.symbol, d.trading_date
$$;

-- Down Migration

DROP FUNCTION calculate_data_completeness(date, date, text);
DROP FUNCTION check_realtime_data_quality(integer, text, timestamptz);
DROP FUNCTION get_trading_session_stats(date, text);
DROP MATERIALIZED VIEW api_usage_efficiency;
DROP FUNCTION analytics_api_usage_rows();
DROP MATERIALIZED VIEW hourly_trading_metrics;
DROP FUNCTION analytics_hourly_trading_rows();
DROP MATERIALIZED VIEW daily_ohlc_summary;
DROP FUNCTION analytics_daily_ohlc_rows();
DROP FUNCTION analytics_session_bar_count(date);
DROP FUNCTION analytics_session_bars(timestamptz, timestamptz);
DROP FUNCTION analytics_is_session_bar(timestamptz);
