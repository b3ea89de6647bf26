"""app layer of faqsearch (see README: architecture)."""
