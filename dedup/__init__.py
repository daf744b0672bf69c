"""Duplicate detection (一件多投) and hot issues, below both the service and training: fingerprints of
a submission, the in-memory candidate index, the pair scorer and the clustering of links. Storage
stays in the service (`service.duplicate_store`); fitting the scorer on a corpus is training's
(`training.duplicate_fit`)."""
