"""The TMI audit (arXiv 2306.01181): does a finetuned model leak membership of its pretraining
data? Its stages are declared in :mod:`.pipeline`."""
