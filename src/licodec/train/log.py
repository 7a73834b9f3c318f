"""The run's log.csv: one row per step, rewound to the checkpoint when a killed run resumes."""

import csv
from pathlib import Path


class CsvLog:
    fields = ("step", "seconds", "lr", "loss", "bpp", "psnr", "mse", "skipped", "cpu_seconds", "channels")

    def __init__(self, path: Path, resume_step: int = 0):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():  # drop what a killed run logged after its last checkpoint: it will be redone
            lines = path.read_text().splitlines(keepends=True)
            kept = lines[:1] + [ln for ln in lines[1:] if int(ln.split(",", 1)[0]) <= resume_step]
            if len(kept) != len(lines):
                path.write_text("".join(kept))
        new = not path.exists()
        self.file = open(path, "a", newline="")
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow(self.fields)

    def write(self, **row) -> None:
        self.writer.writerow([row[k] for k in self.fields])
        self.file.flush()
