"""``leakaudit inspect-checkpoint``: is a downloaded checkpoint crafted to make a finetuner's
data leak? Signals from the checkpoint alone (plus the user's own records, public probes and an
optional clean reference), combined by a detector fitted on tuning-seed releases
(``bench/inspect_checkpoint.py``) with its threshold fixed there."""
