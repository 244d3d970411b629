"""Statistics of binary population activity, pooled over windows.

Every statistic here is a property of **windows** ``(n_samples, n_neurons, n_bins)``
(the layout the generator produces). Real data usually come as one long raster
``(n_time_bins, n_neurons)``; pass it with ``n_bins=T`` (and ``stride``) and the
statistics are those of the windows ``raster[k*stride : k*stride + T]``, computed
**without materialising the overlapping windows**: every statistic is a sum over
windows, and each raster bin enters that sum weighted by the number of windows
(at each in-window position) that contain it. Explicit windows are processed the
same way (as a raster of concatenated windows with ``stride = n_bins``), so the
two modes agree to the last bit: all accumulated sums are integers held exactly
in float64.

At scale, the pairwise statistics (covariance, correlation, lagged covariances)
dominate: they sum ``N**2`` products per lag and bin (enumerated as coincident
spike pairs, in threads), the others are linear in the spikes.
``compute_statistics(..., pair_windows=k)`` computes them from ``k`` evenly
spaced windows and everything else from all windows
(``Statistics.n_pair_windows`` records ``k``). Windows in a ``numpy.memmap``
are read block by block, so a set larger than the memory can be evaluated.

Definitions (``x_i(t)`` is neuron ``i`` at in-window bin ``t``; "pooled" means
over all windows and all bins of each window):

* **firing probability** ``(N,)``: pooled mean of ``x_i``.
* **time course** ``(N, T)``: mean over windows of ``x_i(t)`` for each bin ``t``.
* **covariance / correlation** ``(N, N)``: single-bin, pooled, i.e. ``np.cov`` of the
  ``(N, n*T)`` matrix of concatenated windows (``ddof=1`` by default, as the
  reference code's ``np.cov``); correlation is ``np.corrcoef`` of the same matrix.
* **lagged covariance** ``(L, N, N)``: ``[l-1, i, j] = cov(x_i(t), x_j(t+l))`` over
  all pairs ``(t, t+l)`` inside one window (``n*(T-l)`` pairs, each side centred on its
  own mean, ``ddof`` as above). Unlike the reference code, pairs never straddle two
  windows, so the result does not depend on the order of the windows.
* **autocorrelogram** ``(2L+1,)`` for lags ``-L..L``: coincidence counts
  ``sum_i sum_t x_i(t) x_i(t+l)`` inside windows, summed over windows and neurons
  (symmetric in ``l``). The reference normalisation divides by the maximum (the
  lag-0 count, i.e. the number of spikes) and sets lag 0 to zero.
* **spike-count distribution** ``P(K)`` ``(N+1,)``: distribution of the population
  count ``K = sum_i x_i(t)`` over all pooled bins.
* **inter-spike intervals** ``(T,)``: ``P(d)``, the distribution of the interval
  ``d`` (in bins) between consecutive spikes of one neuron inside one window
  (``d = 1..T-1``; entry 0 is 0).
* **words**: with a group of ``G`` neurons ``g``, the code of bin ``t`` is
  ``sum_j x_{g_j}(t) 2**j``; multi-bin words over ``b`` consecutive bins of one
  window have code ``sum_d code(t+d) 2**(d*G)``. Dense tables of ``2**(G*b)``
  probabilities (``G*b <= 20``).
* **spike-count correlation** ``(N, N)``: correlation over windows of the
  per-window spike counts ``c_i = sum_t x_i(t)``.
* **entropy** (bits): plug-in and Miller-Madow estimates of the entropy of whole
  window patterns, only when ``N*T <= 64``; plug-in entropies of the word tables
  always.

A neuron that never spikes has an undefined correlation: its entries are NaN and a
``RuntimeWarning`` names it (nothing crashes).
"""

from spikegan_tf.statistics.defaults import (
    DEFAULT_MAX_LAG,
    DEFAULT_WORD_BINS,
    DEFAULT_WORD_NEURONS,
    MAX_ENTROPY_BITS,
    MAX_WORD_BITS,
)
from spikegan_tf.statistics.finish import distribution_entropy
from spikegan_tf.statistics.result import Statistics, compute_statistics
from spikegan_tf.statistics.single import (
    autocorrelogram,
    correlation,
    covariance,
    entropy,
    firing_probability,
    isi_distribution,
    lagged_covariance,
    pair_coincidences,
    spike_count_correlation,
    spike_count_distribution,
    time_course,
    window_coincidence_variance,
    window_count_variance,
    word_probabilities,
)

__all__ = ["Statistics", "compute_statistics", "firing_probability", "time_course", "covariance", "correlation", "lagged_covariance", "pair_coincidences", "autocorrelogram", "spike_count_distribution", "window_count_variance", "window_coincidence_variance", "isi_distribution", "word_probabilities", "spike_count_correlation", "entropy", "distribution_entropy", "DEFAULT_MAX_LAG", "DEFAULT_WORD_NEURONS", "DEFAULT_WORD_BINS", "MAX_WORD_BITS", "MAX_ENTROPY_BITS"]
