"""Spiking modules: the spiking forms of linear layers, norms, activations, gated MLPs, heads and attention, under
one :class:`SpikingModule` base (one dispatch on the mode, one accounting view)."""

from .base import CallCounts, FlaggedSpikingModule, OpCount, Ops, SpikingModule, spiking_modules
from .sites import SiteEncoder
from .state import ConversionState, Mode, get_state, is_converted

__all__ = ["CallCounts", "ConversionState", "FlaggedSpikingModule", "Mode", "OpCount", "Ops", "SiteEncoder",
           "SpikingModule", "get_state", "is_converted", "spiking_modules"]
