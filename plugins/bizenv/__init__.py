"""bizenv: enterprises evaluate the government."""
