"""Deliberation in a consultation round: threads, posts, reactions, polls, moderation, live updates."""
