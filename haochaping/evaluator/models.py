"""Models of the evaluator app."""
