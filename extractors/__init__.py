"""Node fact extractors: one module per extractor, each registering its sections."""
