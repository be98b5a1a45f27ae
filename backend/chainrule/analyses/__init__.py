"""The analyses over a graph: the check, forward mode, Jacobians, paths, three ways."""
