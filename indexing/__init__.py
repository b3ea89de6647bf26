"""FAQ storage and import. Import submodules directly (`indexing.store`, `indexing.faq_import`)."""
