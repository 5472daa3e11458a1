-- Rankings of one period by comparison group, best first, with each unit's flags.
-- Runs on SQLite and PostgreSQL. Bind the period label (e.g. 2026H1) as the parameter "period".
SELECT
    r.period,
    u.group_name,
    r.rank,
    r.unit_code,
    u.name AS unit_name,
    r.n_respondents,
    ROUND(CAST(r.satisfaction_index AS NUMERIC), 2) AS satisfaction_index,
    ROUND(CAST(r.satisfaction_ci_low AS NUMERIC), 2) AS ci_low,
    ROUND(CAST(r.satisfaction_ci_high AS NUMERIC), 2) AS ci_high,
    ROUND(CAST(r.composite_score AS NUMERIC), 2) AS composite_score,
    r.rank_ci_low,
    r.rank_ci_high,
    r.ranked,
    (SELECT COUNT(*) FROM flags f WHERE f.period = r.period AND f.unit_code = r.unit_code) AS n_flags
FROM rankings r
JOIN units u ON u.code = r.unit_code
WHERE r.period = :period
ORDER BY r.group_code, r.level, r.ranked DESC, r.rank, r.unit_code;
