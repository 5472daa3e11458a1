"""Validation: Great Expectations suites generated from the schema files, survey-quality rules,
questionnaire reliability, and the gates that refuse a batch."""
