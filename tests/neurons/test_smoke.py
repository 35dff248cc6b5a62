import torch

from lasnn.neurons import HG_FUNCTIONS, HGNeuron, MTNeuron, OATNeuron


def test_neurons_decode_their_spikes():
    x = torch.randn(257) * 3
    for neuron in (MTNeuron(4.0), OATNeuron.from_tensor(x), *(HGNeuron.for_function(n) for n in HG_FUNCTIONS)):
        spikes = neuron.spikes(x)
        assert spikes.shape == (neuron.time_steps, *x.shape)
        torch.testing.assert_close(spikes.sum(0), neuron(x).float())
        assert torch.equal(neuron.spike_count(x), (spikes != 0).sum(0).int())
