"""Plots the benchmarks share (matplotlib, written as PNG without a display)."""


def grouped_bars(path, xlabels, series, ylabel, title):
    """One group of bars per x label, one bar per series ({label: [value per x label]}) in each."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(series)
    for k, (label, vals) in enumerate(series.items()):
        ax.bar([i + (k - (len(series) - 1) / 2) * width for i in range(len(xlabels))], vals, width, label=label)
    ax.set_xticks(range(len(xlabels)))
    ax.set_xticklabels(xlabels)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def size_axis(ax, title, unit):
    """A panel over message sizes: log2 x axis, the title and unit, legend and grid."""
    ax.set_xscale("log", base=2)
    ax.set_xlabel("message size (bytes)")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.legend()
    ax.grid(True, alpha=0.3)
