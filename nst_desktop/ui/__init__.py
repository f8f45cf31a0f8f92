"""The Qt desktop interface (PySide6). Only this package imports Qt; the engine and
services below it do not."""
