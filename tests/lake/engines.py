#!/usr/bin/env python3
"""Runs sagetrail's printed DDL and SQL in a real engine, for tests/lake.rs.

usage: engines.py duckdb|spark DDL_FILE SQL_FILE
SQL_FILE holds one statement per line. Prints one JSON line: {"results": [[eventid, ...], ...],
"rows": N, "distinct": M} where rows/distinct count the events view. For spark, the master is
$SAGETRAIL_SPARK_MASTER (a standalone master on 127.0.0.1), else local[2].
"""
import json
import os
import sys


def statements(text):
    out, cur = [], []
    for line in text.splitlines():
        if line.strip().startswith("--"):
            continue
        cur.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(cur).strip().rstrip(";").strip()
            if stmt:
                out.append(stmt)
            cur = []
    rest = "\n".join(cur).strip()
    if rest:
        out.append(rest)
    return out


def main():
    engine, ddl_file, sql_file = sys.argv[1:4]
    ddl = statements(open(ddl_file).read())
    queries = [q.strip().rstrip(";") for q in open(sql_file).read().splitlines() if q.strip()]
    results = []
    if engine == "duckdb":
        import duckdb
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        for s in ddl:
            con.execute(s)
        for q in queries:
            results.append([r[0] for r in con.execute(f"SELECT eventid FROM ({q}) t").fetchall()])
        rows, distinct = con.execute("SELECT count(*), count(DISTINCT eventid) FROM events").fetchone()
    elif engine == "spark":
        from pyspark.sql import SparkSession
        master = os.environ.get("SAGETRAIL_SPARK_MASTER") or "local[2]"
        spark = (SparkSession.builder.master(master).appName("sagetrail-lake-test")
                 .config("spark.sql.session.timeZone", "UTC")
                 .config("spark.ui.enabled", "false")
                 .config("spark.driver.host", "127.0.0.1")
                 .config("spark.driver.bindAddress", "127.0.0.1")
                 .config("spark.sql.shuffle.partitions", "4")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        for s in ddl:
            spark.sql(s)
        for q in queries:
            results.append([r[0] for r in spark.sql(f"SELECT eventid FROM ({q}) t").collect()])
        r = spark.sql("SELECT count(*), count(DISTINCT eventid) FROM events").collect()[0]
        rows, distinct = r[0], r[1]
        spark.stop()
    else:
        sys.exit(f"unknown engine {engine}")
    print(json.dumps({"results": results, "rows": rows, "distinct": distinct}))


if __name__ == "__main__":
    main()
