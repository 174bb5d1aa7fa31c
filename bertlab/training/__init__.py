"""Training: the one accelerate loop (engine.py) and the tasks it runs (tasks/); run folders
(run_folder.py) and all runs with their worker processes (runs.py, launch.py); event names
(events.py); metrics (metrics.py, metric_modules/); runs side by side (compare.py); a run's cost
before it starts (estimate.py). The web page imports only the torch-free modules among these."""
