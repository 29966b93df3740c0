"""Charts for BENCHMARKS.md (PNG, matplotlib): concurrency against the ideal, waiting cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1] / "docs"


def concurrency(results: list[dict[str, Any]], path: Path = DOCS / "bench-concurrency.png") -> Path:
    """Seconds until all threads finished, per thread count and database, with the ideal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=120)
    for database in sorted({r["database"] for r in results}):
        rows = sorted((r for r in results if r["database"] == database), key=lambda r: r["threads"])
        axes.plot([r["threads"] for r in rows], [r["all_done_s"] for r in rows], marker="o",
                  label=f"all done ({database})")  # fmt: skip
    alone = min(r["alone_s"] for r in results)
    counts = sorted({r["threads"] for r in results})
    axes.plot(counts, [alone] * len(counts), linestyle="--", color="grey", label="one run alone")
    axes.plot(counts, [alone * 1.3] * len(counts), linestyle=":", color="red", label="target 1.3x")
    axes.set_xlabel("incident threads started at once")
    axes.set_ylabel("seconds until all finished")
    axes.set_title("One worker process, model at 300 ms + 50 tokens/s")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def waiting(results: list[dict[str, Any]], path: Path = DOCS / "bench-waiting.png") -> Path:
    """RSS growth and idle CPU of the paused runs, per database, against the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (memory, cpu) = plt.subplots(1, 2, figsize=(8, 3.6), dpi=120)
    labels = [f"{r['database']}\n{r['runs']} runs" for r in results]
    memory.bar(labels, [r["rss_growth_mb"] for r in results], color="#2b7a78")
    memory.axhline(200, color="red", linestyle=":", label="target 200 MB")
    memory.set_ylabel("RSS growth while waiting (MB)")
    memory.legend()
    cpu.bar(labels, [r["idle_cpu_pct"] for r in results], color="#3f0e40")
    cpu.axhline(5, color="red", linestyle=":", label="target 5 %")
    cpu.set_ylabel("CPU while idle (% of a core)")
    cpu.legend()
    figure.suptitle("Runs paused on approval in one worker")
    figure.tight_layout()
    path.parent.mkdir(exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
