"""The earlier 4x4 picture model kind, grid4-scratch (gridlens_train/kinds.py): a fully convolutional MobileNetV3-small started from a tile run."""
