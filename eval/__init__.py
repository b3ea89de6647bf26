"""Offline evaluation of faqsearch: test set loading and scoring."""
