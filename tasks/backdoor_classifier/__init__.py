"""The classifier backdoor audits' stages (vision, text): each runs on its pipeline's domain."""
