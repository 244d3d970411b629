"""Critic importance maps (paper, figure 4): which spikes make a window look real."""

from spikegan_tf.importance.maps import (  # noqa: F401
    METHODS,
    ImportanceConfig,
    PacketRecovery,
    evaluations_per_window,
    importance_maps,
    plot_importance,
    recover_packets,
    roc_auc,
    spike_auc,
    window_starts,
)

__all__ = ["METHODS", "ImportanceConfig", "importance_maps", "evaluations_per_window", "window_starts", "roc_auc", "spike_auc", "PacketRecovery", "recover_packets", "plot_importance"]
