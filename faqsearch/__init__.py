"""faqsearch: semantic similarity search for Korean FAQs.

This package holds only the edges shared by every layer: the settings class and the CLI.
The library code lives in `models` (encoder, pooling), `indexing`, `app` and `eval`.
"""

__version__ = "0.1.0"
