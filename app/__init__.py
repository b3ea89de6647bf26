"""The HTTP service: FastAPI routes over `indexing.searcher.Searcher` and the FAQ store.

Only this package imports FastAPI. Nothing is loaded at import time: `app.main.create_app` builds
an application whose lifespan loads the model and the index.
"""
