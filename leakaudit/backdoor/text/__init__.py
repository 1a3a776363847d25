"""The text classifier backdoor audit: a published sentence encoder (MiniLM-L6) with a linear
head on WordNet's 45 lexicographer categories."""
