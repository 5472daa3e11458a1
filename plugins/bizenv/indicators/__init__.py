"""Department metrics: frontier (0-100) scores, benchmark levels, unit indicator scores."""
