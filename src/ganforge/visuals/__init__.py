"""Pictures: image grids, 2-D scatter plots, sequence plots, training animations (PNG and GIF)."""
