"""Spiking neurons of the LAS conversion: pure coding math (MT, OAT, HG, FS), their statistics and calibration.

Every neuron decodes a spike train to x_hat = sum_t d_t z_t; `forward` returns x_hat in closed form (equivalent
mode), `spikes` the train ([K, ...]; [K + 1, ...] signed digits with code="naf"), `spike_count` its number of spikes
per element.
"""

from .base import MAX_TIME_STEPS, ROUNDINGS, Neuron, NeuronStats, calibrate_neurons, track_stats
from .codes import CODES, popcount
from .fitting import fit_fs
from .fs import FSNeuron
from .functions import HG_FUNCTIONS, HGFunction
from .hg import HGNeuron
from .kernels import compile_kernels, kernels_compiled
from .mt import MTNeuron
from .oat import OATNeuron

__all__ = [
    "CODES",
    "FSNeuron",
    "HG_FUNCTIONS",
    "HGFunction",
    "HGNeuron",
    "MAX_TIME_STEPS",
    "MTNeuron",
    "Neuron",
    "NeuronStats",
    "OATNeuron",
    "ROUNDINGS",
    "fit_fs",
    "popcount",
    "track_stats",
    "calibrate_neurons",
    "compile_kernels",
    "kernels_compiled",
]
