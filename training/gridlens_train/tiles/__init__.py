"""The tile classifier kind (gridlens_train/kinds.py): train, export, parity, card."""
