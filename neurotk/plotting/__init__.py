"""Matplotlib figures of neurotk results, one module per analysis.

Plotting functions take the objects the analyses return and give back the Axes they drew
on; they never compute analyses themselves.
"""
