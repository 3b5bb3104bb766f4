"""Settlement: when a maker's secret may be released, and the fills that get there."""
