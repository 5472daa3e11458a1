-- Per unit, every evaluated period: rank, scores and which flags it received (1 = yes).
-- The trend staff ask for first. `unit_trend` is a view of the warehouse (created by migration
-- 0004, SQLite and PostgreSQL alike); add a WHERE on unit_code to follow one unit.
SELECT
    unit_code,
    unit_name,
    group_name,
    period,
    rank,
    ranked,
    n_respondents,
    ROUND(CAST(satisfaction_index AS NUMERIC), 2) AS satisfaction_index,
    ROUND(CAST(indicator_score AS NUMERIC), 2) AS indicator_score,
    ROUND(CAST(composite_score AS NUMERIC), 2) AS composite_score,
    bottom_n,
    repeated_bottom_n,
    significantly_low,
    significant_decline,
    top_n,
    most_improved,
    insufficient_sample
FROM unit_trend
ORDER BY unit_code, period;
