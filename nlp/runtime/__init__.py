"""Inference without PyTorch: ONNX Runtime, the `tokenizers` library and numpy (see nlp/README.md)."""
