-- Per unit, every evaluated period: rank, scores and which flags it received (1 = yes).
-- The trend staff ask for first. Runs on SQLite and PostgreSQL; add a WHERE on u.code to
-- follow one unit.
SELECT
    u.code AS unit_code,
    u.name AS unit_name,
    u.group_name,
    r.period,
    r.rank,
    r.ranked,
    r.n_respondents,
    ROUND(CAST(r.satisfaction_index AS NUMERIC), 2) AS satisfaction_index,
    ROUND(CAST(r.indicator_score AS NUMERIC), 2) AS indicator_score,
    ROUND(CAST(r.composite_score AS NUMERIC), 2) AS composite_score,
    MAX(CASE WHEN f.flag = 'BOTTOM_N' THEN 1 ELSE 0 END) AS bottom_n,
    MAX(CASE WHEN f.flag = 'REPEATED_BOTTOM_N' THEN 1 ELSE 0 END) AS repeated_bottom_n,
    MAX(CASE WHEN f.flag = 'SIGNIFICANTLY_LOW' THEN 1 ELSE 0 END) AS significantly_low,
    MAX(CASE WHEN f.flag = 'SIGNIFICANT_DECLINE' THEN 1 ELSE 0 END) AS significant_decline,
    MAX(CASE WHEN f.flag = 'TOP_N' THEN 1 ELSE 0 END) AS top_n,
    MAX(CASE WHEN f.flag = 'MOST_IMPROVED' THEN 1 ELSE 0 END) AS most_improved,
    MAX(CASE WHEN f.flag = 'INSUFFICIENT_SAMPLE' THEN 1 ELSE 0 END) AS insufficient_sample
FROM units u
JOIN rankings r ON r.unit_code = u.code
LEFT JOIN flags f ON f.period = r.period AND f.unit_code = r.unit_code
GROUP BY u.code, u.name, u.group_name, r.period, r.rank, r.ranked, r.n_respondents,
         r.satisfaction_index, r.indicator_score, r.composite_score
ORDER BY u.code, r.period;
