"""Operator extra links to the DataWorks console."""
