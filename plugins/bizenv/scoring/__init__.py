"""Satisfaction scoring: items on 0-100, respondent scores per unit, unit indices with intervals."""
