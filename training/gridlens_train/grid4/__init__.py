"""The 4x4 picture model kind, grid4 (gridlens_train/kinds.py): the frozen COCO CenterNet detector with a
learned head per square (gridlens_train/detector4.py)."""

CLASSES = ["bicycle", "bus", "crosswalk", "hydrant", "motorcycle", "stairs", "traffic_light"]
LISTS = "models/gridlens-grid4"
