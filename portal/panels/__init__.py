"""Standing expert panels of parents, young people, or both."""
