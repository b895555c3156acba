"""Anomaly detector benchmark (SPEC 13): what the signals cost the ingest's hot path.

Decodes the ingest benchmark's batches (512 spans, half of them GenAI CLIENT spans) into stored
spans once, then times ``AnomalyDetector.observe_spans`` over them, and the decoding itself for
scale. One process, no network; on a shared machine the figures move with the neighbours' load.
Target: at least 100,000 spans/s through the detector, so it takes at most a fifth of the
ingest's 50,000 spans/s budget (bench/ingest_bench.py).

    python bench/anomaly_bench.py [--batches 200]

Writes ``bench/results/anomaly.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import sys
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from fake_middleware.anomaly import AnomalyDetector
from fake_middleware.otlp import extract_spans

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest_bench  # noqa: E402  (the same batches as the ingest benchmark)

RESULTS = Path(__file__).resolve().parent / "results" / "anomaly.json"
TARGET_SPANS_PER_S = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    requests = [ExportTraceServiceRequest.FromString(gzip.decompress(b)) for b in ingest_bench.batches(args.batches)]
    started = time.perf_counter()
    stored = [extract_spans(r, "bench", 0, i).spans for i, r in enumerate(requests)]
    decode_s = time.perf_counter() - started
    detector = AnomalyDetector()
    started = time.perf_counter()
    for spans in stored:
        detector.observe_spans(spans, time.time_ns())
    detect_s = time.perf_counter() - started
    n = sum(len(s) for s in stored)
    ratio = decode_s and (n / detect_s) / (n / decode_s)
    result = {"benchmark": "anomaly", "spans": n, "decode_spans_per_s": round(n / decode_s),
              "detector_spans_per_s": round(n / detect_s), "detector_to_decode_ratio": round(ratio, 2),
              "target_spans_per_s": TARGET_SPANS_PER_S, "meets_target": n / detect_s >= TARGET_SPANS_PER_S,
              "windows_judged": detector.windows_judged, "python": platform.python_version(),
              "machine": platform.machine()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
