"""Example targets: apps configured the way frameworks' documentation shows."""
