"""history.svg of a training job: losses and validation macro F1 per epoch.

Drawn with matplotlib's object API (no pyplot: thread-safe in a web process); imported
only when a chart is drawn, so that web processes that never draw one never load it.
"""

import io

from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

LOSS_COLORS = {"train_loss": "#4363D8", "validation_loss": "#F58231"}
F1_COLOR = "#3CB44B"


def svg_for(history, best_epoch=None) -> bytes:
    """The chart of a job's `history` (list of per-epoch dicts); `best_epoch` is marked."""
    figure = Figure(figsize=(9, 3.6), dpi=100, layout="constrained")
    FigureCanvasSVG(figure)
    losses = figure.add_subplot()
    epochs = [entry["epoch"] for entry in history]
    for key, color in LOSS_COLORS.items():
        values = [entry.get(key) for entry in history]
        if any(v is not None for v in values):
            losses.plot(epochs, values, marker="o", markersize=3, color=color, label=key.replace("_", " "))
    losses.set_xlabel("epoch")
    losses.set_ylabel("loss")
    losses.grid(alpha=0.3)
    f1 = losses.twinx()
    scores = [entry.get("validation_macro_f1") for entry in history]
    if any(v is not None for v in scores):
        f1.plot(epochs, scores, marker="s", markersize=3, color=F1_COLOR, label="validation macro F1")
    f1.set_ylim(0, 1)
    f1.set_ylabel("macro F1")
    handles = losses.get_legend_handles_labels()[0] + f1.get_legend_handles_labels()[0]
    if best_epoch is not None:
        losses.axvline(best_epoch, color="#888", linestyle="--", linewidth=1)
        handles.append(Line2D([], [], color="#888", linestyle="--", label=f"best epoch ({best_epoch})"))
    if epochs:
        losses.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        losses.xaxis.get_major_locator().set_params(integer=True)
    else:
        losses.text(0.5, 0.5, "no epoch finished yet", transform=losses.transAxes, ha="center", va="center")
    figure.legend(handles=handles, loc="outside upper center", ncols=4, fontsize="small", frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg")
    return buffer.getvalue()
