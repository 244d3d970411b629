"""The paper's simulated datasets and a tuned population, seeded and vectorised, with their
ground truth.

Two datasets of Molano-Mazon et al. (ICLR 2018), following the reference code
(manuelmolano/Spike-GAN, ``tflib/sim_pop_activity.py``):

``uniform``
    Neurons in groups of ``group_size``. Each group ``g`` has a firing
    probability ``r_g`` and a correlation ``c_g`` drawn uniformly within
    ``±spread`` (relative) of ``firing_rate`` and ``correlation``. Each group
    has a reference spike train (Bernoulli ``r_g`` per bin, refractory); in
    every bin each neuron copies the reference with probability
    ``sqrt(c_g)`` and otherwise fires on its own with probability ``r_g``;
    then the refractory period is imposed. Neuron order is shuffled.
``packets``
    Background firing (Bernoulli per bin, probability drawn within ``±spread``
    of ``firing_rate`` per neuron, refractory) plus *packets*: ``group_size``
    neurons firing in sequence, one per bin. With ``n_modes=1``, the neurons
    form ``n_neurons // group_size`` packet sets and each set starts a packet
    with probability ``packet_prob`` in any bin where it is free (packets of a
    set do not overlap); with ``n_modes=2``, each sample holds exactly one
    packet, from the first ``group_size`` neurons in order or the last
    ``group_size`` neurons in reverse order, with probability 1/2 each (the
    two sets overlap when ``2 * group_size > n_neurons``). Neuron order is
    shuffled.

Deliberate differences from the reference code, all documented in the ground
truth: the refractory period is *hard* (after a spike a neuron is silent for
``refractory_period`` bins; the reference removed close spikes at random, so
violations remained), it also holds around packet spikes (a background spike
is not drawn within ``refractory_period`` bins of a packet spike of the same
neuron), packets fit in the window (onsets ``0 .. n_bins - group_size``), and
the start of each window is drawn from the stationary state of the process
instead of a random history of ``2 * n_bins`` bins. Correlations drawn above 1
are clipped to 1.

Default parameters are the reference code's command-line defaults
(``main_conv.py``: ``firing_rate=0.25``, ``correlation=0.9``, ``group_size=4``,
``refractory_period=2``, ``packet_prob=0.05``) with 16 neurons x 32 bins.

Rates given as parameters are probabilities per bin *before* the refractory
period removes spikes, as in the paper; the ground truth also holds the exact
stationary statistics of the output (``expected_rates``,
``expected_correlations``, ``expected_packets_per_sample``), computed from the
Markov chain of the process, which is what the samples should show.

A third dataset is not from the paper:

``tuned``
    The data set of a conditional Spike-GAN: a population tuned to ``n_stimuli``
    discrete stimuli (von-Mises-like tuning curves in logit space) and to a
    continuous stimulus trace, with shared noise factors whose loadings depend on
    the stimulus. Each window has a stimulus id (``labels``) and its trace
    (``covariates``); the exact tuning curves and per-stimulus noise covariances
    are in the ground truth. See :mod:`spikegan_tf.data.simulate.tuned`.

``assemblies``
    A large population (1,000 neurons by default) in overlapping assemblies: each
    assembly starts a sequence at random onsets and its members fire at their own lags
    after the onset, over log-normal background firing. Exact firing probabilities and
    (without a refractory period) exact lagged covariances are in the ground truth
    (:func:`assembly_covariance`). See :mod:`spikegan_tf.data.simulate.assemblies`.
"""

from spikegan_tf.data.simulate.assemblies import assemblies, assembly_covariance
from spikegan_tf.data.simulate.base import FORMAT_VERSION, SimulatedData
from spikegan_tf.data.simulate.packets import packets
from spikegan_tf.data.simulate.tuned import tuned
from spikegan_tf.data.simulate.uniform import uniform, uniform_group_statistics

__all__ = ["SimulatedData", "uniform", "packets", "tuned", "assemblies", "assembly_covariance",
           "uniform_group_statistics", "FORMAT_VERSION"]
