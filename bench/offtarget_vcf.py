"""Does a large VCF stream in bounded memory? 1,000,000 records, bgzipped and tabix-indexed.

Writes a VCF of ``--records`` SNVs over 4 contigs (PASS, AF in INFO), bgzips and indexes it
(pysam.tabix_compress / tabix_index), then in a child process reads every allele through
:class:`pmpath.io.vcf.VcfReader` contig by contig (as the variant-aware scan does), and reports
the time, the alleles read and the child's peak RSS (VmHWM) beside its RSS after the imports:
the difference is what reading the VCF costs, which must not grow with the number of records.

    .venv/bin/python bench/offtarget_vcf.py [--records 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _memory_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(path: Path) -> None:
    from pmpath.io.vcf import VcfReader

    baseline = _memory_mib()
    t0 = time.perf_counter()
    reader = VcfReader(path)
    alleles = 0
    for contig in reader.indexed_contigs:
        for _ in reader.alleles(contig):
            alleles += 1
    print(json.dumps({"seconds": time.perf_counter() - t0, "alleles": alleles,
                      "rss_baseline_mib": baseline, "rss_peak_mib": _memory_mib()}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child)
        return
    import pysam

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "big.vcf"
        t0 = time.perf_counter()
        per = args.records // 4
        with plain.open("w") as out:
            out.write("##fileformat=VCFv4.2\n")
            for c in range(1, 5):
                out.write(f"##contig=<ID=chr{c},length={20 * per + 100}>\n")
            out.write('##INFO=<ID=AF,Number=A,Type=Float,Description="AF">\n')
            out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
            for c in range(1, 5):
                out.writelines(
                    f"chr{c}\t{20 * i + 1}\t.\tA\tG\t.\tPASS\tAF=0.01\n" for i in range(per)
                )
        gz = Path(tmp) / "big.vcf.gz"
        pysam.tabix_compress(str(plain), str(gz), force=True)
        pysam.tabix_index(str(gz), preset="vcf", force=True)
        made = time.perf_counter() - t0
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(gz)], capture_output=True, text=True,
            check=True,
        )  # fmt: skip
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"{4 * per:,} records ({gz.stat().st_size / 2**20:.0f} MiB bgzipped, made and indexed "
            f"in {made:.0f} s): read {r['alleles']:,} alleles contig by contig in "
            f"{r['seconds']:.1f} s; RSS {r['rss_baseline_mib']:.0f} MiB after imports, peak "
            f"{r['rss_peak_mib']:.0f} MiB (+{r['rss_peak_mib'] - r['rss_baseline_mib']:.0f} MiB "
            "for the VCF)"
        )


if __name__ == "__main__":
    main()
