"""Prefect flows: thin steps that call the services."""
