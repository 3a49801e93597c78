"""Network registry (``registry``) and architectures: ``mlp``, ``cnn`` (Nature DQN, MinAtar)."""
