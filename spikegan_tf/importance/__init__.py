"""Critic importance maps (paper, figure 4): which spikes make a window look real.

* :mod:`~spikegan_tf.importance.maps`: the maps (shuffle, gradient, saliency);
* :mod:`~spikegan_tf.importance.auc`: how well they single out known spikes;
* :mod:`~spikegan_tf.importance.packets`: packet recovery from the maps;
* :mod:`~spikegan_tf.importance.plots`: the figure.
"""

from spikegan_tf.importance.auc import roc_auc, spike_auc
from spikegan_tf.importance.maps import (
    METHODS,
    ImportanceConfig,
    evaluations_per_window,
    importance_maps,
    window_starts,
)
from spikegan_tf.importance.packets import PacketRecovery, recover_packets
from spikegan_tf.importance.plots import plot_importance

__all__ = ["METHODS", "ImportanceConfig", "importance_maps", "evaluations_per_window",
           "window_starts", "roc_auc", "spike_auc", "PacketRecovery", "recover_packets",
           "plot_importance"]
