"""Draw docs/figures/im2col.png: a 3x3 filter over a 4x4 image as one matrix product.

    python docs/figures/im2col.py
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e"]  # one per output pixel


def grid(ax, x0, y0, rows, cols, labels, size=1.0, fill=None):
    """A table of cells with labels, top-left corner at (x0, y0), y growing downwards."""
    for r in range(rows):
        for c in range(cols):
            face = fill(r, c) if fill else "white"
            ax.add_patch(Rectangle((x0 + c * size, y0 + r * size), size, size,
                                   facecolor=face, edgecolor="0.4", lw=0.8))
            ax.text(x0 + (c + 0.5) * size, y0 + (r + 0.5) * size, labels(r, c),
                    ha="center", va="center", fontsize=10)


def main():
    fig, ax = plt.subplots(figsize=(13, 4.6))
    # the image: pixels a..p, and the four 3x3 patches, each outlined in its colour
    pix = "abcdefghijklmnop"
    grid(ax, 0, 0, 4, 4, lambda r, c: pix[4 * r + c])
    for k, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        inset = 0.06 * (k + 1)
        ax.add_patch(Rectangle((j + inset, i + inset), 3 - 2 * inset, 3 - 2 * inset,
                               fill=False, edgecolor=COLOURS[k], lw=2.2))
    ax.text(2, -0.6, "x: one channel, 4 x 4\n(four 3 x 3 patches)", ha="center",
            fontsize=11)
    # im2col: one row per output pixel, the patch read row by row
    x0 = 5.6
    rows = [[pix[4 * (i + u) + (j + v)] for u in range(3) for v in range(3)]
            for i, j in [(0, 0), (0, 1), (1, 0), (1, 1)]]
    grid(ax, x0, 0, 4, 9, lambda r, c: rows[r][c], size=0.9,
         fill=lambda r, c: COLOURS[r] + "33")
    ax.text(x0 + 4.05, -0.6, "im2col(x): 4 rows (output pixels) x 9 (patch)", ha="center",
            fontsize=11)
    # the filter as a column
    x1 = x0 + 9 * 0.9 + 0.8
    ax.text(x1 - 0.45, 1.8, "@", fontsize=18, ha="center", va="center")
    grid(ax, x1, -0.9, 9, 1, lambda r, c: f"w{r // 3}{r % 3}", size=0.6)
    ax.text(x1 + 0.3, -1.3, "W: 9 x 1", ha="center", fontsize=11)
    # the product, and the output image it reshapes into
    x2 = x1 + 1.4
    ax.text(x2 - 0.35, 1.8, "=", fontsize=18, ha="center", va="center")
    grid(ax, x2, 0, 4, 1, lambda r, c: f"y{r}", size=0.9,
         fill=lambda r, c: COLOURS[r] + "33")
    x3 = x2 + 2.0
    ax.annotate("", xy=(x3 - 0.2, 1.8), xytext=(x2 + 1.1, 1.8),
                arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.text(x2 + 1.45, 1.3, "reshape", ha="center", fontsize=10)
    grid(ax, x3, 0.9, 2, 2, lambda r, c: f"y{2 * r + c}",
         fill=lambda r, c: COLOURS[2 * r + c] + "33")
    ax.text(x3 + 1, 0.3, "y: 2 x 2", ha="center", fontsize=11)
    ax.text(0, 5.2, "Each output pixel is the filter's dot product with the patch under it. "
            "im2col copies every patch into a row, so the whole convolution is one matrix "
            "product;\ncol2im, its transpose, adds each row's gradient back onto the pixels "
            "it came from (where patches overlap, the gradients add up).", fontsize=10.5)
    ax.set_xlim(-0.3, x3 + 2.3)
    ax.set_ylim(6.0, -1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.savefig(os.path.join(HERE, "im2col.png"), dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
