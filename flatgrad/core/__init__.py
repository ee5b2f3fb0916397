"""The core compiler: parse, stage into a shaped SSA graph, plan the backward pass."""
