"""Synthetic ground truth: known scenes, a simulated sensor, and the errors we measure.

Every quality claim of the pipeline is checked here first: render a scene whose true
colours are known, simulate what a sensor records (CFA, noise, black level, white
balance, clipping), develop it, and measure the error against the truth.
"""
