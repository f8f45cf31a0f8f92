"""Engine test fixtures shared by modules: the network prepared for float32 on the CPU."""

from __future__ import annotations

import pytest
import torch

from nst_desktop.engine.net import losses
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.net.vgg import VGGFeatures
from nst_desktop.engine.net.weights import VGGWeights


@pytest.fixture(scope="session")
def fp32() -> Precision:
    """float32 on the CPU."""
    return Precision.choose("fp32", torch.device("cpu"))


@pytest.fixture(scope="session")
def net(bundled_weights: VGGWeights, fp32: Precision) -> VGGFeatures:
    """The bundled VGG19 up to the content and style layers, prepared for :func:`fp32`. Modules that
    need another network define their own ``net``."""
    return fp32.prepare(VGGFeatures(bundled_weights, [losses.CONTENT_LAYER, *losses.STYLE_LAYERS]))
