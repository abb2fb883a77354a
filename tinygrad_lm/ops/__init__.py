"""The primitive differentiable operations, one ``Function`` subclass each, grouped by kind."""
