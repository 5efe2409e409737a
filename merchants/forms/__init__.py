"""Portal forms of the merchants app, one module per area (import from the module)."""
