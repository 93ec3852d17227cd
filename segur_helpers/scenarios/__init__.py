"""Scenario steps, one module per requirement: the logic a notebook calls, one call per step.

Steps use only driver capabilities and the recorder, never a product's selectors, so they hold for
every vendor's driver.
"""
