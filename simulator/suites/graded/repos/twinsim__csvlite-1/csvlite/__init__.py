from .reader import read_rows
