"""Loaders for the bundled CSV files."""

from __future__ import annotations

from importlib import resources

import pandas as pd


def penguins_path():
    """Path of the bundled Palmer penguins CSV file."""
    return resources.files("skdrop.datasets").joinpath("penguins.csv")


def load_penguins():
    """The Palmer penguins data: 344 penguins, 8 columns, some values missing.

    Measurements of three species of penguins on three islands of the Palmer
    Archipelago, Antarctica (Gorman, Williams and Fraser 2014; the
    ``palmerpenguins`` R package by Horst, Hill and Gorman, CC0).  Categorical
    columns ``species``, ``island`` and ``sex`` are strings; ``sex`` and the
    measurements have missing values.

    Returns
    -------
    frame : pandas.DataFrame of shape (344, 8)

    Examples
    --------
    >>> from skdrop.datasets import load_penguins
    >>> penguins = load_penguins()
    >>> penguins.shape
    (344, 8)
    >>> sorted(penguins["species"].unique())
    ['Adelie', 'Chinstrap', 'Gentoo']
    """
    with resources.as_file(penguins_path()) as path:
        return pd.read_csv(path)
