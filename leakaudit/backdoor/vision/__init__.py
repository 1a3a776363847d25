"""The vision privacy-backdoor audit (``backdoor-vision/``): a small CNN on Fashion-MNIST; its
stages are declared in :mod:`.pipeline`."""
