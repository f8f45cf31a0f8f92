"""Application services between the engine and the UI: paths, settings, weights store, jobs.

Nothing here imports Qt.
"""
