"""Datasets: Minari collection and episodes -> (padded) sequence batches."""
