"""posekit.inference's lazy names: each resolves, from the module the table names."""

from __future__ import annotations

import importlib

import pytest

import posekit.inference as inference


@pytest.mark.parametrize("name", inference.__all__)
def test_every_lazy_name_resolves_to_its_module(name: str) -> None:
    module = importlib.import_module(inference._LAZY[name])
    assert getattr(inference, name) is getattr(module, name)


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        inference.no_such_name  # noqa: B018
