"""Spike-equivalent operators, each in an equivalent (decoded values) and a temporal (spike trains) form."""

from .activations import spiking_activation
from .norms import NormNeurons, spiking_layer_norm, spiking_rms_norm
from .product import spike_product, spike_product_steps
from .softmax import SoftmaxNeurons, spiking_softmax, spiking_softmax_spikes

__all__ = [
    "NormNeurons",
    "SoftmaxNeurons",
    "spike_product",
    "spike_product_steps",
    "spiking_activation",
    "spiking_layer_norm",
    "spiking_rms_norm",
    "spiking_softmax",
    "spiking_softmax_spikes",
]
