"""The core: the op table, the graph, its plan and the sweeps."""
