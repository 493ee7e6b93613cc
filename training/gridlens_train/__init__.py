"""gridlens training library: data loading, augmentation, models, export."""
