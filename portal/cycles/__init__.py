"""Policy cycles and their stages."""
