"""Sentence encoder and pooling. Import submodules directly (`models.encoder`, `models.pooling`, ...);
this package file stays empty so that importing it never loads torch or a model."""
