#!/usr/bin/env python3
"""Fill a sagetrail lake in parallel on a Spark cluster (EMR, Glue, standalone): one Spark task per unit of
work, i.e. per folder of trail objects (an account/region/day prefix), each running `sagetrail lake write`
on its unit. Files are named by their unit and objects, so a retried or speculative task replaces what it
wrote instead of adding to it, and tasks of different units never touch each other's files.

    spark-submit contrib/spark/lake_write.py --sagetrail /opt/sagetrail/bin/sagetrail \\
        --to s3://lake-bucket/cloudtrail [--accounts 111122223333] [--since 2024-05-01] \\
        s3://org-trail-bucket/AWSLogs/o-abc123/

The sagetrail binary must be at the same path on every worker (a bootstrap action on EMR, `--files` or
an image otherwise); AWS credentials come from each worker's credential chain. Prints one JSON summary
line; exits 3 when a unit failed (its stderr is in the summary), like `sagetrail lake write`.
"""
import argparse
import json
import subprocess
import sys

from pyspark.sql import SparkSession


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sagetrail", default="sagetrail", help="the sagetrail binary on every worker")
    ap.add_argument("--to", required=True, help="the lake: a folder every worker sees, or s3://")
    ap.add_argument("--accounts", default=None)
    ap.add_argument("--regions", default=None)
    ap.add_argument("--since", default=None)
    ap.add_argument("--until", default=None)
    ap.add_argument("--chunk-mb", default=None)
    ap.add_argument("sources", nargs="+", help="trail folders or s3:// prefixes, as for lake write")
    a = ap.parse_args()

    filters = []
    for flag in ("accounts", "regions", "since", "until"):
        v = getattr(a, flag)
        if v:
            filters += [f"--{flag}", v]
    write_opts = ["--chunk-mb", a.chunk_mb] if a.chunk_mb else []

    # The plan runs on the driver: listing only, nothing written.
    plan = subprocess.run([a.sagetrail, "lake", "write", "--plan", "--to", a.to, *filters, *a.sources],
                          capture_output=True, text=True)
    if plan.returncode not in (0, 3):
        sys.stderr.write(plan.stderr)
        sys.exit(2)
    units = [json.loads(line)["unit"] for line in plan.stdout.splitlines() if line.strip()]

    spark = SparkSession.builder.appName("sagetrail-lake-write").getOrCreate()
    sagetrail, dest = a.sagetrail, a.to

    def write(unit):
        # A unit is one folder: the object filters were applied by the plan.
        r = subprocess.run([sagetrail, "lake", "write", "--to", dest, "--summary", "json", *write_opts, unit],
                           capture_output=True, text=True)
        summary = {}
        try:
            summary = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            pass
        return {"unit": unit, "code": r.returncode, "summary": summary, "stderr": r.stderr[-4000:]}

    results = spark.sparkContext.parallelize(units, max(1, len(units))).map(write).collect()
    spark.stop()
    failed = [r for r in results if r["code"] != 0]
    total = {
        "units": len(units),
        "unitsFailed": len(failed),
        "eventsWritten": sum(r["summary"].get("eventsWritten", 0) for r in results),
        "filesWritten": sum(r["summary"].get("filesWritten", 0) for r in results),
        "failed": [{"unit": r["unit"], "code": r["code"], "stderr": r["stderr"]} for r in failed],
    }
    print(json.dumps(total))
    sys.exit(3 if failed or plan.returncode == 3 else 0)


if __name__ == "__main__":
    main()
