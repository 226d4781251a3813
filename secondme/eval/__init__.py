"""Benchmarks for secondme's memory quality and speed (``mem eval``).

The pure parts live here: dataset loaders (:mod:`.datasets`), scoring (:mod:`.metrics`),
reports (:mod:`.report`) and a synthetic corpus for speed runs (:mod:`.corpus`).  None of them
touch the store or a model, so they import fast and test without either.
"""
